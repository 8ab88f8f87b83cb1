// Portable reference kernels: integer dot products per block, then the block scales.
#include <cstring>

#include "llm/kernels/vec_dot.h"
#include "base/half.h"
#include "llm/quant/blocks.h"

namespace rockllm::kernels {

using namespace rockllm::quant;

namespace {

inline float h2f(uint16_t h) { return fp16_to_fp32(h); }

// Low/high nibble values of a 32-element block, element j at q[j].
void unpack_nibbles(const uint8_t* qs, int q[kQK]) {
    for (int j = 0; j < kQK / 2; ++j) {
        q[j] = qs[j] & 0xF;
        q[j + kQK / 2] = qs[j] >> 4;
    }
}

void add_high_bits(const uint8_t qh_bytes[4], int q[kQK]) {
    uint32_t qh;
    std::memcpy(&qh, qh_bytes, 4);
    for (int j = 0; j < kQK; ++j) q[j] |= static_cast<int>((qh >> j) & 1) << 4;
}

int dot32(const int* q, const int8_t* a) {
    int sum = 0;
    for (int j = 0; j < kQK; ++j) sum += q[j] * a[j];
    return sum;
}

float dot_f32(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const float*>(w);
    const auto* y = static_cast<const float*>(a);
    float sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += x[i] * y[i];
    return sum;
}

float dot_f16(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const uint16_t*>(w);
    const auto* y = static_cast<const float*>(a);
    float sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += fp16_to_fp32(x[i]) * y[i];
    return sum;
}

float dot_bf16(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const uint16_t*>(w);
    const auto* y = static_cast<const float*>(a);
    float sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += bf16_to_fp32(x[i]) * y[i];
    return sum;
}

float dot_q8_0(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const BlockQ8_0*>(w);
    const auto* y = static_cast<const BlockQ8_0*>(a);
    float sum = 0;
    for (int64_t i = 0; i < n / kQK; ++i) {
        int s = 0;
        for (int j = 0; j < kQK; ++j) s += x[i].qs[j] * y[i].qs[j];
        sum += h2f(x[i].d) * h2f(y[i].d) * static_cast<float>(s);
    }
    return sum;
}

float dot_q4_0(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const BlockQ4_0*>(w);
    const auto* y = static_cast<const BlockQ8_0*>(a);
    float sum = 0;
    int q[kQK];
    for (int64_t i = 0; i < n / kQK; ++i) {
        unpack_nibbles(x[i].qs, q);
        for (int& v : q) v -= 8;
        sum += h2f(x[i].d) * h2f(y[i].d) * static_cast<float>(dot32(q, y[i].qs));
    }
    return sum;
}

float dot_q5_0(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const BlockQ5_0*>(w);
    const auto* y = static_cast<const BlockQ8_0*>(a);
    float sum = 0;
    int q[kQK];
    for (int64_t i = 0; i < n / kQK; ++i) {
        unpack_nibbles(x[i].qs, q);
        add_high_bits(x[i].qh, q);
        for (int& v : q) v -= 16;
        sum += h2f(x[i].d) * h2f(y[i].d) * static_cast<float>(dot32(q, y[i].qs));
    }
    return sum;
}

// x = q * d + m against Q8_1 (s = d_a * sum(q_a)): sum = d * d_a * dot + m * s.
template <class Block>
float dot_min_scale(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const Block*>(w);
    const auto* y = static_cast<const BlockQ8_1*>(a);
    float sum = 0;
    int q[kQK];
    for (int64_t i = 0; i < n / kQK; ++i) {
        unpack_nibbles(x[i].qs, q);
        if constexpr (requires { x[i].qh; }) add_high_bits(x[i].qh, q);
        sum += h2f(x[i].d) * h2f(y[i].d) * static_cast<float>(dot32(q, y[i].qs)) + h2f(x[i].m) * h2f(y[i].s);
    }
    return sum;
}

float dot_q2_k(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const BlockQ2_K*>(w);
    const auto* y = static_cast<const BlockQ8_K*>(a);
    float sum = 0;
    for (int64_t i = 0; i < n / kQKK; ++i) {
        int scaled = 0, mins = 0;
        for (int g = 0; g < 16; ++g) {
            int s = 0;
            for (int l = 0; l < 16; ++l) {
                const int e = 16 * g + l;
                const int q = (x[i].qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3;
                s += q * y[i].qs[e];
            }
            scaled += (x[i].scales[g] & 0xF) * s;
            mins += (x[i].scales[g] >> 4) * y[i].bsums[g];
        }
        sum += y[i].d * (h2f(x[i].d) * static_cast<float>(scaled) - h2f(x[i].dmin) * static_cast<float>(mins));
    }
    return sum;
}

float dot_q3_k(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const BlockQ3_K*>(w);
    const auto* y = static_cast<const BlockQ8_K*>(a);
    float sum = 0;
    for (int64_t i = 0; i < n / kQKK; ++i) {
        int8_t scales[16];
        q3k_scales(x[i].scales, scales);
        int total = 0;
        for (int g = 0; g < 16; ++g) {
            int s = 0;
            for (int l = 0; l < 16; ++l) {
                const int e = 16 * g + l, chunk = e / 128, j = (e % 128) / 32, pos = e % 32;
                const int low = (x[i].qs[32 * chunk + pos] >> (2 * j)) & 3;
                const int high = (x[i].hmask[pos] >> (4 * chunk + j)) & 1;
                s += (low - (high ? 0 : 4)) * y[i].qs[e];
            }
            total += (scales[g] - 32) * s;
        }
        sum += y[i].d * h2f(x[i].d) * static_cast<float>(total);
    }
    return sum;
}

template <class Block>
float dot_q45_k(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const Block*>(w);
    const auto* y = static_cast<const BlockQ8_K*>(a);
    float sum = 0;
    for (int64_t i = 0; i < n / kQKK; ++i) {
        int scaled = 0, mins = 0;
        for (int g = 0; g < 8; ++g) {
            uint8_t sc, m;
            k4_scale_min(g, x[i].scales, sc, m);
            int s = 0;
            for (int l = 0; l < 32; ++l) {
                int q = (x[i].qs[32 * (g / 2) + l] >> (4 * (g % 2))) & 0xF;
                if constexpr (requires { x[i].qh; }) q |= ((x[i].qh[l] >> g) & 1) << 4;
                s += q * y[i].qs[32 * g + l];
            }
            scaled += sc * s;
            mins += m * (y[i].bsums[2 * g] + y[i].bsums[2 * g + 1]);
        }
        sum += y[i].d * (h2f(x[i].d) * static_cast<float>(scaled) - h2f(x[i].dmin) * static_cast<float>(mins));
    }
    return sum;
}

float dot_q6_k(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const BlockQ6_K*>(w);
    const auto* y = static_cast<const BlockQ8_K*>(a);
    float sum = 0;
    for (int64_t i = 0; i < n / kQKK; ++i) {
        int total = 0;
        for (int g = 0; g < 16; ++g) {
            int s = 0;
            for (int l = 0; l < 16; ++l) {
                const int e = 16 * g + l, half = e / 128, k = (e % 128) / 32, p = e % 32;
                const int low = (x[i].ql[64 * half + p + 32 * (k % 2)] >> (4 * (k / 2))) & 0xF;
                const int high = (x[i].qh[32 * half + p] >> (2 * k)) & 3;
                s += ((low | (high << 4)) - 32) * y[i].qs[e];
            }
            total += x[i].scales[g] * s;
        }
        sum += y[i].d * h2f(x[i].d) * static_cast<float>(total);
    }
    return sum;
}

}  // namespace

VecDotFn scalar_vec_dot(GgmlType type) {
    switch (type) {
        case GgmlType::F32: return dot_f32;
        case GgmlType::F16: return dot_f16;
        case GgmlType::BF16: return dot_bf16;
        case GgmlType::Q8_0: return dot_q8_0;
        case GgmlType::Q4_0: return dot_q4_0;
        case GgmlType::Q5_0: return dot_q5_0;
        case GgmlType::Q4_1: return dot_min_scale<BlockQ4_1>;
        case GgmlType::Q5_1: return dot_min_scale<BlockQ5_1>;
        case GgmlType::Q2_K: return dot_q2_k;
        case GgmlType::Q3_K: return dot_q3_k;
        case GgmlType::Q4_K: return dot_q45_k<BlockQ4_K>;
        case GgmlType::Q5_K: return dot_q45_k<BlockQ5_K>;
        case GgmlType::Q6_K: return dot_q6_k;
        default: return nullptr;
    }
}

}  // namespace rockllm::kernels
