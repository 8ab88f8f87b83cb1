#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "llm/quant/blocks.h"
#include "base/half.h"
#include "llm/quant/quantize.h"

namespace rockllm::quant {

namespace {

inline uint16_t f2h(float f) { return fp32_to_fp16(f); }
inline int nearest(float x) { return static_cast<int>(std::lround(x)); }
inline float inverse(float d) { return d != 0.0f ? 1.0f / d : 0.0f; }

// The element of largest magnitude, with its sign.
float signed_absmax(const float* x, int n) {
    float best = 0.0f;
    for (int i = 0; i < n; ++i)
        if (std::fabs(x[i]) > std::fabs(best)) best = x[i];
    return best;
}

void quantize_q4_0(const float* x, BlockQ4_0* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, x += kQK) {
        const float d = signed_absmax(x, kQK) / -8.0f;  // the extreme value maps to q = 0
        const float id = inverse(d);
        y[i].d = f2h(d);
        for (int j = 0; j < kQK / 2; ++j) {
            const int lo = std::clamp(nearest(x[j] * id) + 8, 0, 15);
            const int hi = std::clamp(nearest(x[j + kQK / 2] * id) + 8, 0, 15);
            y[i].qs[j] = static_cast<uint8_t>(lo | (hi << 4));
        }
    }
}

template <class Block, int kMaxQ>
void quantize_min_scale(const float* x, Block* y, int64_t nb) {  // Q4_1 and Q5_1
    for (int64_t i = 0; i < nb; ++i, x += kQK) {
        const float mn = *std::min_element(x, x + kQK), mx = *std::max_element(x, x + kQK);
        const float d = (mx - mn) / kMaxQ;
        const float id = inverse(d);
        y[i].d = f2h(d);
        y[i].m = f2h(mn);
        uint32_t qh = 0;
        for (int j = 0; j < kQK / 2; ++j) {
            const int lo = std::clamp(nearest((x[j] - mn) * id), 0, kMaxQ);
            const int hi = std::clamp(nearest((x[j + kQK / 2] - mn) * id), 0, kMaxQ);
            y[i].qs[j] = static_cast<uint8_t>((lo & 0xF) | ((hi & 0xF) << 4));
            qh |= static_cast<uint32_t>(lo >> 4) << j;
            qh |= static_cast<uint32_t>(hi >> 4) << (j + 16);
        }
        if constexpr (requires { y[i].qh; }) std::memcpy(y[i].qh, &qh, 4);
    }
}

void quantize_q5_0(const float* x, BlockQ5_0* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, x += kQK) {
        const float d = signed_absmax(x, kQK) / -16.0f;
        const float id = inverse(d);
        y[i].d = f2h(d);
        uint32_t qh = 0;
        for (int j = 0; j < kQK / 2; ++j) {
            const int lo = std::clamp(nearest(x[j] * id) + 16, 0, 31);
            const int hi = std::clamp(nearest(x[j + kQK / 2] * id) + 16, 0, 31);
            y[i].qs[j] = static_cast<uint8_t>((lo & 0xF) | ((hi & 0xF) << 4));
            qh |= static_cast<uint32_t>(lo >> 4) << j;
            qh |= static_cast<uint32_t>(hi >> 4) << (j + 16);
        }
        std::memcpy(y[i].qh, &qh, 4);
    }
}

void quantize_q8_0(const float* x, BlockQ8_0* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, x += kQK) {
        const float d = std::fabs(signed_absmax(x, kQK)) / 127.0f;
        const float id = inverse(d);
        y[i].d = f2h(d);
        for (int j = 0; j < kQK; ++j) y[i].qs[j] = static_cast<int8_t>(std::clamp(nearest(x[j] * id), -127, 127));
    }
}

// Per-group scale and offset for the asymmetric K formats: x ~ scale * q - min, q in 0..max_q.
struct GroupRange {
    float scale, min;
};
GroupRange group_range(const float* x, int n, int max_q) {
    const float mn = std::min(0.0f, *std::min_element(x, x + n));
    const float mx = *std::max_element(x, x + n);
    return {(mx - mn) / static_cast<float>(max_q), -mn};
}

// Quantizes per-group scales and mins to `levels` steps of two super-block factors.
struct SuperScales {
    float d, dmin;
};
SuperScales super_scales(const GroupRange* groups, int n, int levels) {
    float max_scale = 0, max_min = 0;
    for (int g = 0; g < n; ++g) {
        max_scale = std::max(max_scale, groups[g].scale);
        max_min = std::max(max_min, groups[g].min);
    }
    return {max_scale / static_cast<float>(levels), max_min / static_cast<float>(levels)};
}

void quantize_q2_k(const float* x, BlockQ2_K* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, x += kQKK) {
        GroupRange groups[16];
        for (int g = 0; g < 16; ++g) groups[g] = group_range(x + 16 * g, 16, 3);
        SuperScales s = super_scales(groups, 16, 15);
        y[i].d = f2h(s.d);
        y[i].dmin = f2h(s.dmin);
        s = {fp16_to_fp32(y[i].d), fp16_to_fp32(y[i].dmin)};  // quantize against what is stored
        std::memset(y[i].qs, 0, sizeof y[i].qs);
        for (int g = 0; g < 16; ++g) {
            const int sc = std::clamp(nearest(groups[g].scale * inverse(s.d)), 0, 15);
            const int m = std::clamp(nearest(groups[g].min * inverse(s.dmin)), 0, 15);
            y[i].scales[g] = static_cast<uint8_t>(sc | (m << 4));
            const float dl = s.d * sc, ml = s.dmin * m;
            for (int l = 0; l < 16; ++l) {
                const int e = 16 * g + l;  // element index in the super-block
                const int q = std::clamp(nearest((x[e] + ml) * inverse(dl)), 0, 3);
                const int chunk = e / 128, j = (e % 128) / 32, pos = e % 32;
                y[i].qs[32 * chunk + pos] |= static_cast<uint8_t>(q << (2 * j));
            }
        }
    }
}

void quantize_q3_k(const float* x, BlockQ3_K* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, x += kQKK) {
        float scales[16];
        float max_scale = 0;
        for (int g = 0; g < 16; ++g) {
            scales[g] = signed_absmax(x + 16 * g, 16) / -4.0f;  // q in -4..3
            if (std::fabs(scales[g]) > std::fabs(max_scale)) max_scale = scales[g];
        }
        const float d = std::fabs(max_scale) / 31.0f;
        y[i].d = f2h(d);
        const float stored_d = fp16_to_fp32(y[i].d);
        std::memset(y[i].scales, 0, sizeof y[i].scales);
        std::memset(y[i].qs, 0, sizeof y[i].qs);
        std::memset(y[i].hmask, 0, sizeof y[i].hmask);
        for (int g = 0; g < 16; ++g) {
            const int sc = std::clamp(nearest(scales[g] * inverse(stored_d)), -32, 31);
            const int v = sc + 32;
            if (g < 8) y[i].scales[g] |= static_cast<uint8_t>(v & 0xF);
            else y[i].scales[g - 8] |= static_cast<uint8_t>((v & 0xF) << 4);
            y[i].scales[8 + g % 4] |= static_cast<uint8_t>((v >> 4) << (2 * (g / 4)));
            const float dl = stored_d * sc;
            for (int l = 0; l < 16; ++l) {
                const int e = 16 * g + l;
                const int q = std::clamp(nearest(x[e] * inverse(dl)), -4, 3) + 4;
                const int chunk = e / 128, j = (e % 128) / 32, pos = e % 32;
                y[i].qs[32 * chunk + pos] |= static_cast<uint8_t>((q & 3) << (2 * j));
                if (q & 4) y[i].hmask[pos] |= static_cast<uint8_t>(1 << (4 * chunk + j));
            }
        }
    }
}

// Packs the 6-bit scale and min of group j into the 12 bytes read by k4_scale_min.
void pack_k4_scale_min(int j, int scale, int min, uint8_t* q) {
    if (j < 4) {
        q[j] = static_cast<uint8_t>((q[j] & 0xC0) | scale);
        q[j + 4] = static_cast<uint8_t>((q[j + 4] & 0xC0) | min);
    } else {
        q[j + 4] = static_cast<uint8_t>((scale & 0xF) | ((min & 0xF) << 4));
        q[j - 4] |= static_cast<uint8_t>((scale >> 4) << 6);
        q[j] |= static_cast<uint8_t>((min >> 4) << 6);
    }
}

template <class Block, int kMaxQ>
void quantize_q45_k(const float* x, Block* y, int64_t nb) {  // Q4_K and Q5_K
    constexpr bool kHasHighBit = kMaxQ == 31;
    for (int64_t i = 0; i < nb; ++i, x += kQKK) {
        GroupRange groups[8];
        for (int g = 0; g < 8; ++g) groups[g] = group_range(x + 32 * g, 32, kMaxQ);
        const SuperScales s = super_scales(groups, 8, 63);
        y[i].d = f2h(s.d);
        y[i].dmin = f2h(s.dmin);
        const float d = fp16_to_fp32(y[i].d), dmin = fp16_to_fp32(y[i].dmin);
        std::memset(y[i].scales, 0, sizeof y[i].scales);
        std::memset(y[i].qs, 0, sizeof y[i].qs);
        if constexpr (kHasHighBit) std::memset(y[i].qh, 0, sizeof y[i].qh);
        for (int g = 0; g < 8; ++g) {
            const int sc = std::clamp(nearest(groups[g].scale * inverse(d)), 0, 63);
            const int m = std::clamp(nearest(groups[g].min * inverse(dmin)), 0, 63);
            pack_k4_scale_min(g, sc, m, y[i].scales);
            const float dl = d * sc, ml = dmin * m;
            for (int l = 0; l < 32; ++l) {
                const int q = std::clamp(nearest((x[32 * g + l] + ml) * inverse(dl)), 0, kMaxQ);
                // Groups 2k and 2k+1 share 32 bytes: low and high nibbles.
                y[i].qs[32 * (g / 2) + l] |= static_cast<uint8_t>((q & 0xF) << (4 * (g % 2)));
                if constexpr (kHasHighBit)
                    if (q & 16) y[i].qh[l] |= static_cast<uint8_t>(1 << g);
            }
        }
    }
}

void quantize_q6_k(const float* x, BlockQ6_K* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, x += kQKK) {
        float scales[16];
        float max_scale = 0;
        for (int g = 0; g < 16; ++g) {
            scales[g] = signed_absmax(x + 16 * g, 16) / -32.0f;  // q in -32..31
            if (std::fabs(scales[g]) > std::fabs(max_scale)) max_scale = scales[g];
        }
        const float d = std::fabs(max_scale) / 127.0f;
        y[i].d = f2h(d);
        const float stored_d = fp16_to_fp32(y[i].d);
        std::memset(y[i].ql, 0, sizeof y[i].ql);
        std::memset(y[i].qh, 0, sizeof y[i].qh);
        for (int g = 0; g < 16; ++g) {
            const int sc = std::clamp(nearest(scales[g] * inverse(stored_d)), -127, 127);
            y[i].scales[g] = static_cast<int8_t>(sc);
            const float dl = stored_d * sc;
            for (int l = 0; l < 16; ++l) {
                const int e = 16 * g + l;
                const int q = std::clamp(nearest(x[e] * inverse(dl)), -32, 31) + 32;
                // Within a 128-element half: quarter k of the half, position p (0..31).
                const int half = e / 128, k = (e % 128) / 32, p = e % 32;
                uint8_t* ql = y[i].ql + 64 * half;
                uint8_t* qh = y[i].qh + 32 * half;
                ql[p + 32 * (k % 2)] |= static_cast<uint8_t>((q & 0xF) << (4 * (k / 2)));
                qh[p] |= static_cast<uint8_t>((q >> 4) << (2 * k));
            }
        }
    }
}

template <class Block>
Block* as(void* p) {
    return static_cast<Block*>(p);
}

}  // namespace

void quantize_row(GgmlType type, const float* x, void* dst, int64_t n) {
    const int64_t block = ggml_type_info(type).block_size;
    if (n % block != 0) throw std::invalid_argument("row length is not a multiple of the block size");
    const int64_t nb = n / block;
    switch (type) {
        case GgmlType::F32: std::memcpy(dst, x, static_cast<size_t>(n) * 4); return;
        case GgmlType::F16:
            for (int64_t i = 0; i < n; ++i) as<uint16_t>(dst)[i] = fp32_to_fp16(x[i]);
            return;
        case GgmlType::BF16:
            for (int64_t i = 0; i < n; ++i) {  // round to nearest even
                uint32_t bits;
                std::memcpy(&bits, &x[i], 4);
                as<uint16_t>(dst)[i] = static_cast<uint16_t>((bits + 0x7fff + ((bits >> 16) & 1)) >> 16);
            }
            return;
        case GgmlType::Q4_0: return quantize_q4_0(x, as<BlockQ4_0>(dst), nb);
        case GgmlType::Q4_1: return quantize_min_scale<BlockQ4_1, 15>(x, as<BlockQ4_1>(dst), nb);
        case GgmlType::Q5_0: return quantize_q5_0(x, as<BlockQ5_0>(dst), nb);
        case GgmlType::Q5_1: return quantize_min_scale<BlockQ5_1, 31>(x, as<BlockQ5_1>(dst), nb);
        case GgmlType::Q8_0: return quantize_q8_0(x, as<BlockQ8_0>(dst), nb);
        case GgmlType::Q2_K: return quantize_q2_k(x, as<BlockQ2_K>(dst), nb);
        case GgmlType::Q3_K: return quantize_q3_k(x, as<BlockQ3_K>(dst), nb);
        case GgmlType::Q4_K: return quantize_q45_k<BlockQ4_K, 15>(x, as<BlockQ4_K>(dst), nb);
        case GgmlType::Q5_K: return quantize_q45_k<BlockQ5_K, 31>(x, as<BlockQ5_K>(dst), nb);
        case GgmlType::Q6_K: return quantize_q6_k(x, as<BlockQ6_K>(dst), nb);
        default: throw std::invalid_argument("cannot quantize to tensor type " + ggml_type_name(type));
    }
}

}  // namespace rockllm::quant
