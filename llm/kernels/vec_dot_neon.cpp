// NEON kernels with the ARMv8.2 dot-product instructions (SDOT), which the RK3588's Cortex-A76
// cores have, for the weight types of the common GGUF files (Q8_0, Q4_0, Q5_0, Q4_K, Q6_K, F16, F32).
// Each function carries its own target attribute; vec_dot_for() hands them out only when the CPU
// reports dotprod (HWCAP_ASIMDDP).
#include "llm/kernels/vec_dot.h"
#include "base/half.h"

#if defined(__aarch64__)

#include <arm_neon.h>
#include <sys/auxv.h>

#include <cstring>

#include "llm/kernels/target_isa.h"
#include "llm/quant/blocks.h"

#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif


namespace rockllm::kernels {

using namespace rockllm::quant;

namespace {

inline float h2f(uint16_t h) { return fp16_to_fp32(h); }

// The 32 signed values of a Q4_0 block as two vectors (elements 0..15, 16..31).
ROCKLLM_DOTPROD inline void unpack_q4_0(const BlockQ4_0& b, int8x16_t& lo, int8x16_t& hi) {
    const uint8x16_t v = vld1q_u8(b.qs);
    lo = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(v, vdupq_n_u8(0x0F))), vdupq_n_s8(8));
    hi = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(v, 4)), vdupq_n_s8(8));
}

// 0x10 in byte j where bit j of the two bytes (low, high) is set.
ROCKLLM_DOTPROD inline uint8x16_t high_bits(uint8_t low, uint8_t high) {
    static const uint8_t kBits[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
    const uint8x16_t bytes = vcombine_u8(vdup_n_u8(low), vdup_n_u8(high));
    return vandq_u8(vtstq_u8(bytes, vld1q_u8(kBits)), vdupq_n_u8(0x10));
}

ROCKLLM_DOTPROD float dot_q8_0(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const BlockQ8_0*>(w);
    const auto* y = static_cast<const BlockQ8_0*>(a);
    float32x4_t acc = vdupq_n_f32(0.0f);
    for (int64_t i = 0; i < n / kQK; ++i) {
        int32x4_t p = vdotq_s32(vdupq_n_s32(0), vld1q_s8(x[i].qs), vld1q_s8(y[i].qs));
        p = vdotq_s32(p, vld1q_s8(x[i].qs + 16), vld1q_s8(y[i].qs + 16));
        acc = vmlaq_n_f32(acc, vcvtq_f32_s32(p), h2f(x[i].d) * h2f(y[i].d));
    }
    return vaddvq_f32(acc);
}

ROCKLLM_DOTPROD float dot_q4_0(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const BlockQ4_0*>(w);
    const auto* y = static_cast<const BlockQ8_0*>(a);
    float32x4_t acc = vdupq_n_f32(0.0f);
    for (int64_t i = 0; i < n / kQK; ++i) {
        int8x16_t lo, hi;
        unpack_q4_0(x[i], lo, hi);
        int32x4_t p = vdotq_s32(vdupq_n_s32(0), lo, vld1q_s8(y[i].qs));
        p = vdotq_s32(p, hi, vld1q_s8(y[i].qs + 16));
        acc = vmlaq_n_f32(acc, vcvtq_f32_s32(p), h2f(x[i].d) * h2f(y[i].d));
    }
    return vaddvq_f32(acc);
}

ROCKLLM_DOTPROD float dot_q5_0(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const BlockQ5_0*>(w);
    const auto* y = static_cast<const BlockQ8_0*>(a);
    float32x4_t acc = vdupq_n_f32(0.0f);
    for (int64_t i = 0; i < n / kQK; ++i) {
        const uint8x16_t v = vld1q_u8(x[i].qs);
        const uint8x16_t lo_u = vorrq_u8(vandq_u8(v, vdupq_n_u8(0x0F)), high_bits(x[i].qh[0], x[i].qh[1]));
        const uint8x16_t hi_u = vorrq_u8(vshrq_n_u8(v, 4), high_bits(x[i].qh[2], x[i].qh[3]));
        const int8x16_t lo = vsubq_s8(vreinterpretq_s8_u8(lo_u), vdupq_n_s8(16));
        const int8x16_t hi = vsubq_s8(vreinterpretq_s8_u8(hi_u), vdupq_n_s8(16));
        int32x4_t p = vdotq_s32(vdupq_n_s32(0), lo, vld1q_s8(y[i].qs));
        p = vdotq_s32(p, hi, vld1q_s8(y[i].qs + 16));
        acc = vmlaq_n_f32(acc, vcvtq_f32_s32(p), h2f(x[i].d) * h2f(y[i].d));
    }
    return vaddvq_f32(acc);
}

ROCKLLM_DOTPROD float dot_q4_k(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const BlockQ4_K*>(w);
    const auto* y = static_cast<const BlockQ8_K*>(a);
    float sum = 0;
    for (int64_t i = 0; i < n / kQKK; ++i) {
        uint8_t sc[8], m[8];
        for (int g = 0; g < 8; ++g) k4_scale_min(g, x[i].scales, sc[g], m[g]);
        int mins = 0;
        for (int g = 0; g < 8; ++g) mins += m[g] * (y[i].bsums[2 * g] + y[i].bsums[2 * g + 1]);
        int scaled = 0;
        for (int j = 0; j < 4; ++j) {
            const int8_t* yq = y[i].qs + 64 * j;
            int32x4_t lo = vdupq_n_s32(0), hi = vdupq_n_s32(0);
            for (int half = 0; half < 2; ++half) {
                const uint8x16_t q4 = vld1q_u8(x[i].qs + 32 * j + 16 * half);
                lo = vdotq_s32(lo, vreinterpretq_s8_u8(vandq_u8(q4, vdupq_n_u8(0x0F))), vld1q_s8(yq + 16 * half));
                hi = vdotq_s32(hi, vreinterpretq_s8_u8(vshrq_n_u8(q4, 4)), vld1q_s8(yq + 32 + 16 * half));
            }
            scaled += sc[2 * j] * vaddvq_s32(lo) + sc[2 * j + 1] * vaddvq_s32(hi);
        }
        sum += y[i].d * (h2f(x[i].d) * static_cast<float>(scaled) - h2f(x[i].dmin) * static_cast<float>(mins));
    }
    return sum;
}

ROCKLLM_DOTPROD float dot_q6_k(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const BlockQ6_K*>(w);
    const auto* y = static_cast<const BlockQ8_K*>(a);
    float sum = 0;
    for (int64_t i = 0; i < n / kQKK; ++i) {
        int total = 0;
        for (int half = 0; half < 2; ++half) {
            const uint8_t* ql = x[i].ql + 64 * half;
            const uint8_t* qh = x[i].qh + 32 * half;
            for (int part = 0; part < 2; ++part) {  // 16 of the 32 positions at a time
                const uint8x16_t l0 = vld1q_u8(ql + 16 * part), l1 = vld1q_u8(ql + 32 + 16 * part);
                const uint8x16_t h = vld1q_u8(qh + 16 * part);
                const uint8x16_t three = vdupq_n_u8(3), low = vdupq_n_u8(0x0F);
                const uint8x16_t q[4] = {
                    vorrq_u8(vandq_u8(l0, low), vshlq_n_u8(vandq_u8(h, three), 4)),
                    vorrq_u8(vandq_u8(l1, low), vshlq_n_u8(vandq_u8(vshrq_n_u8(h, 2), three), 4)),
                    vorrq_u8(vshrq_n_u8(l0, 4), vshlq_n_u8(vandq_u8(vshrq_n_u8(h, 4), three), 4)),
                    vorrq_u8(vshrq_n_u8(l1, 4), vshlq_n_u8(vshrq_n_u8(h, 6), 4)),
                };
                for (int k = 0; k < 4; ++k) {
                    const int8x16_t qs = vsubq_s8(vreinterpretq_s8_u8(q[k]), vdupq_n_s8(32));
                    const int8x16_t yq = vld1q_s8(y[i].qs + 128 * half + 32 * k + 16 * part);
                    // Positions 16 * part .. 16 * part + 15 of quarter k form one group of 16.
                    total += x[i].scales[8 * half + 2 * k + part] * vaddvq_s32(vdotq_s32(vdupq_n_s32(0), qs, yq));
                }
            }
        }
        sum += y[i].d * h2f(x[i].d) * static_cast<float>(total);
    }
    return sum;
}

ROCKLLM_DOTPROD float dot_f16(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const uint16_t*>(w);
    const auto* y = static_cast<const float*>(a);
    float32x4_t acc0 = vdupq_n_f32(0.0f), acc1 = vdupq_n_f32(0.0f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const float32x4_t x0 = vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(x + i)));
        const float32x4_t x1 = vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(x + i + 4)));
        acc0 = vfmaq_f32(acc0, x0, vld1q_f32(y + i));
        acc1 = vfmaq_f32(acc1, x1, vld1q_f32(y + i + 4));
    }
    float sum = vaddvq_f32(vaddq_f32(acc0, acc1));
    for (; i < n; ++i) sum += fp16_to_fp32(x[i]) * y[i];
    return sum;
}

ROCKLLM_DOTPROD float dot_f32(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const float*>(w);
    const auto* y = static_cast<const float*>(a);
    float32x4_t acc0 = vdupq_n_f32(0.0f), acc1 = vdupq_n_f32(0.0f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        acc0 = vfmaq_f32(acc0, vld1q_f32(x + i), vld1q_f32(y + i));
        acc1 = vfmaq_f32(acc1, vld1q_f32(x + i + 4), vld1q_f32(y + i + 4));
    }
    float sum = vaddvq_f32(vaddq_f32(acc0, acc1));
    for (; i < n; ++i) sum += x[i] * y[i];
    return sum;
}

}  // namespace

bool neon_dotprod_available() {
    static const bool available = (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;  // asked once, as on x86
    return available;
}

VecDotFn neon_vec_dot(GgmlType type) {
    if (!neon_dotprod_available()) return nullptr;
    switch (type) {
        case GgmlType::F32: return dot_f32;
        case GgmlType::F16: return dot_f16;
        case GgmlType::Q8_0: return dot_q8_0;
        case GgmlType::Q4_0: return dot_q4_0;
        case GgmlType::Q5_0: return dot_q5_0;
        case GgmlType::Q4_K: return dot_q4_k;
        case GgmlType::Q6_K: return dot_q6_k;
        default: return nullptr;
    }
}

}  // namespace rockllm::kernels

#else  // not aarch64

namespace rockllm::kernels {
bool neon_dotprod_available() { return false; }
VecDotFn neon_vec_dot(GgmlType) { return nullptr; }
}  // namespace rockllm::kernels

#endif
