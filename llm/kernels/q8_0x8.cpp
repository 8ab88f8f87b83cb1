#include "llm/kernels/q8_0x8.h"

#include <cmath>
#include <cstring>

#include "base/half.h"

namespace rockllm::kernels {

using quant::BlockQ8_0;
using quant::kQK;

Q8_0x8Kernels q8_0x8_kernels(Isa isa) {
    if (isa == Isa::Avx2) {
        if (Q8_0x8Kernel k = q8_0x8_vnni()) return {k, 0x80, 4};
    } else if (isa == Isa::Neon) {
        if (Q8_0x8Kernel k = q8_0x8_neon()) return {k, 0, 2};
    }
    return {};
}

void repack_q8_0x8(const uint8_t* src, int64_t rows, int64_t cols, uint8_t bias, uint8_t* dst) {
    const int64_t n_blocks = cols / kQK;
    const auto* in = reinterpret_cast<const BlockQ8_0*>(src);
    for (int64_t g = 0; g < rows / kQ8_0x8Rows; ++g) {
        for (int64_t b = 0; b < n_blocks; ++b, dst += kQ8_0x8BlockBytes) {
            for (int64_t r = 0; r < kQ8_0x8Rows; ++r) {
                const BlockQ8_0& block = in[(g * kQ8_0x8Rows + r) * n_blocks + b];
                std::memcpy(dst + 2 * r, &block.d, 2);
                for (int64_t q = 0; q < kQK / 4; ++q)
                    for (int64_t k = 0; k < 4; ++k)
                        dst[16 + (8 * q + r) * 4 + k] = static_cast<uint8_t>(block.qs[4 * q + k]) ^ bias;
            }
        }
    }
}

void dequantize_q8_0x8_row(const uint8_t* data, int64_t r, int64_t cols, uint8_t bias, float* out) {
    const int64_t n_blocks = cols / kQK;
    const uint8_t* block = data + static_cast<size_t>(r / kQ8_0x8Rows * n_blocks) * kQ8_0x8BlockBytes;
    const int64_t lane = r % kQ8_0x8Rows;
    for (int64_t b = 0; b < n_blocks; ++b, block += kQ8_0x8BlockBytes) {
        uint16_t d;
        std::memcpy(&d, block + 2 * lane, 2);
        const float scale = fp16_to_fp32(d);
        for (int64_t i = 0; i < kQK; ++i)
            out[b * kQK + i] = scale * static_cast<int8_t>(block[16 + (8 * (i / 4) + lane) * 4 + i % 4] ^ bias);
    }
}

void q8_0x8_scalar(int64_t n_blocks, const uint8_t* group, const Q8_0x8Input& input, int64_t first_token, int n_tokens,
                   float* out, int64_t out_stride) {
    for (int i = 0; i < n_tokens; ++i) {
        const int64_t t = first_token + i;
        const BlockQ8_0* a = input.rows[t];
        // The even and the odd blocks in two sums, added at the end, as the SIMD kernels do.
        float even[kQ8_0x8Rows] = {}, odd[kQ8_0x8Rows] = {};
        const uint8_t* block = group;
        for (int64_t b = 0; b < n_blocks; ++b, block += kQ8_0x8BlockBytes) {
            float* acc = b % 2 == 0 ? even : odd;
            for (int64_t r = 0; r < kQ8_0x8Rows; ++r) {
                int32_t sum = 0;
                for (int64_t k = 0; k < kQK; ++k)
                    sum += static_cast<int8_t>(block[16 + (8 * (k / 4) + r) * 4 + k % 4] ^ input.weight_bias) * a[b].qs[k];
                uint16_t d;
                std::memcpy(&d, block + 2 * r, 2);
                acc[r] = std::fma(static_cast<float>(sum), fp16_to_fp32(d) * input.scales[t * n_blocks + b], acc[r]);
            }
        }
        for (int64_t r = 0; r < kQ8_0x8Rows; ++r) out[i * out_stride + r] = even[r] + odd[r];
    }
}

}  // namespace rockllm::kernels
