// The interleaved kernels (interleaved.h) with the ARMv8.2 dot product: SDOT with a lane index
// multiplies four rows' quads (one 128-bit register; two for the eight rows) by one four-byte
// group of the activations and adds into one int32 lane per row. Q4_0's and Q5_0's quants become
// signed bytes (nibble - 8, nibble with its fifth bit - 16) as they are loaded.
#include "llm/kernels/interleaved.h"

#if defined(__aarch64__)

#include <arm_neon.h>

#include <cstring>

#include "llm/kernels/target_isa.h"


namespace rockllm::kernels {

namespace {

// 0x10 in byte i where bit i of the 16 bits is set (Q5_0's fifth bits).
ROCKLLM_DOTPROD inline uint8x16_t fifth_bits(uint32_t bits16) {
    static const uint8_t kBits[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
    const uint8x16_t bytes = vcombine_u8(vdup_n_u8(static_cast<uint8_t>(bits16)), vdup_n_u8(static_cast<uint8_t>(bits16 >> 8)));
    return vandq_u8(vtstq_u8(bytes, vld1q_u8(kBits)), vdupq_n_u8(0x10));
}

// The 16 weight registers of a block: quad q's rows 0..3 in w[2q], rows 4..7 in w[2q + 1].
template <GgmlType T>
ROCKLLM_DOTPROD inline void load_weights(const uint8_t* block, int8x16_t w[16]) {
    if constexpr (T == GgmlType::Q8_0) {
        for (int k = 0; k < 16; ++k) w[k] = vld1q_s8(reinterpret_cast<const int8_t*>(block + 16 + 16 * k));
    } else if constexpr (T == GgmlType::Q5_0) {
        const uint8x16_t nibble = vdupq_n_u8(0x0F);
        const int8x16_t sixteen = vdupq_n_s8(16);
        uint32_t masks[8];
        std::memcpy(masks, block + 144, sizeof masks);
        for (int j = 0; j < 4; ++j)
            for (int half = 0; half < 2; ++half) {
                const uint8x16_t v = vld1q_u8(block + 16 + 32 * j + 16 * half);
                const uint8x16_t lo = vorrq_u8(vandq_u8(v, nibble), fifth_bits(masks[j] >> (16 * half)));
                const uint8x16_t hi = vorrq_u8(vshrq_n_u8(v, 4), fifth_bits(masks[j + 4] >> (16 * half)));
                w[2 * j + half] = vsubq_s8(vreinterpretq_s8_u8(lo), sixteen);
                w[2 * (j + 4) + half] = vsubq_s8(vreinterpretq_s8_u8(hi), sixteen);
            }
    } else {
        const uint8x16_t nibble = vdupq_n_u8(0x0F);
        const int8x16_t eight = vdupq_n_s8(8);
        for (int j = 0; j < 4; ++j)
            for (int half = 0; half < 2; ++half) {
                const uint8x16_t v = vld1q_u8(block + 16 + 32 * j + 16 * half);
                w[2 * j + half] = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(v, nibble)), eight);
                w[2 * (j + 4) + half] = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(v, 4)), eight);
            }
    }
}

// Accumulators per token: rows 0..3 and 4..7, for the even and the odd blocks (added at the end,
// the portable kernel's order).
template <GgmlType T, int N>
ROCKLLM_DOTPROD void neon_tokens(int64_t n_blocks, const uint8_t* group, const InterleavedInput& in, int64_t first_token,
                                 float* out, int64_t out_stride) {
    constexpr size_t block_bytes = interleaved_block_bytes(T);
    float32x4_t acc[N][2][2];  // [token][even, odd block][rows 0..3, 4..7]
    for (int i = 0; i < N; ++i)
        for (auto& parity : acc[i])
            for (auto& half : parity) half = vdupq_n_f32(0.0f);
    for (int64_t b = 0; b < n_blocks; ++b, group += block_bytes) {
        const float16x8_t h = vreinterpretq_f16_u8(vld1q_u8(group));
        const float32x4_t scale_lo = vcvt_f32_f16(vget_low_f16(h)), scale_hi = vcvt_f32_f16(vget_high_f16(h));
        int8x16_t w[16];
        load_weights<T>(group, w);
        for (int i = 0; i < N; ++i) {
            const int64_t t = first_token + i;
            const int8x16_t a0 = vld1q_s8(in.rows[t][b].qs), a1 = vld1q_s8(in.rows[t][b].qs + 16);
            int32x4_t s_lo = vdupq_n_s32(0), s_hi = vdupq_n_s32(0);
            s_lo = vdotq_laneq_s32(s_lo, w[0], a0, 0);
            s_hi = vdotq_laneq_s32(s_hi, w[1], a0, 0);
            s_lo = vdotq_laneq_s32(s_lo, w[2], a0, 1);
            s_hi = vdotq_laneq_s32(s_hi, w[3], a0, 1);
            s_lo = vdotq_laneq_s32(s_lo, w[4], a0, 2);
            s_hi = vdotq_laneq_s32(s_hi, w[5], a0, 2);
            s_lo = vdotq_laneq_s32(s_lo, w[6], a0, 3);
            s_hi = vdotq_laneq_s32(s_hi, w[7], a0, 3);
            s_lo = vdotq_laneq_s32(s_lo, w[8], a1, 0);
            s_hi = vdotq_laneq_s32(s_hi, w[9], a1, 0);
            s_lo = vdotq_laneq_s32(s_lo, w[10], a1, 1);
            s_hi = vdotq_laneq_s32(s_hi, w[11], a1, 1);
            s_lo = vdotq_laneq_s32(s_lo, w[12], a1, 2);
            s_hi = vdotq_laneq_s32(s_hi, w[13], a1, 2);
            s_lo = vdotq_laneq_s32(s_lo, w[14], a1, 3);
            s_hi = vdotq_laneq_s32(s_hi, w[15], a1, 3);
            const float a_scale = in.scales[t * n_blocks + b];
            float32x4_t* parity = acc[i][b % 2];
            parity[0] = vfmaq_f32(parity[0], vcvtq_f32_s32(s_lo), vmulq_n_f32(scale_lo, a_scale));
            parity[1] = vfmaq_f32(parity[1], vcvtq_f32_s32(s_hi), vmulq_n_f32(scale_hi, a_scale));
        }
    }
    for (int i = 0; i < N; ++i) {
        vst1q_f32(out + i * out_stride, vaddq_f32(acc[i][0][0], acc[i][1][0]));
        vst1q_f32(out + i * out_stride + 4, vaddq_f32(acc[i][0][1], acc[i][1][1]));
    }
}

// Two tokens a call: the sixteen weight registers and eight accumulators per token fill the 32.
template <GgmlType T>
ROCKLLM_DOTPROD void neon_kernel(int64_t n_blocks, const uint8_t* group, const InterleavedInput& in, int64_t first_token,
                                 int n_tokens, float* out, int64_t out_stride) {
    if (n_tokens == 1) return neon_tokens<T, 1>(n_blocks, group, in, first_token, out, out_stride);
    neon_tokens<T, 2>(n_blocks, group, in, first_token, out, out_stride);
}

}  // namespace

InterleavedKernel interleaved_neon(GgmlType type) {
    if (!neon_dotprod_available()) return nullptr;
    if (type == GgmlType::Q8_0) return neon_kernel<GgmlType::Q8_0>;
    if (type == GgmlType::Q4_0) return neon_kernel<GgmlType::Q4_0>;
    if (type == GgmlType::Q5_0) return neon_kernel<GgmlType::Q5_0>;
    return nullptr;
}

}  // namespace rockllm::kernels

#else

namespace rockllm::kernels {
InterleavedKernel interleaved_neon(GgmlType) { return nullptr; }
}  // namespace rockllm::kernels

#endif
