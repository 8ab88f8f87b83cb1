#include "llm/kernels/interleaved.h"

#include <cmath>
#include <cstring>

#include "base/half.h"

namespace rockllm::kernels {

using quant::BlockQ8_0;
using quant::kQK;

namespace {

// The signed value of row r, column c (0..31) of an interleaved block.
int8_t value_q8_0(const uint8_t* block, int64_t r, int64_t c, uint8_t bias) {
    return static_cast<int8_t>(block[16 + (8 * (c / 4) + r) * 4 + c % 4] ^ bias);
}
int8_t value_q4_0(const uint8_t* block, int64_t r, int64_t c, uint8_t) {
    const uint8_t byte = block[16 + (8 * (c % 16 / 4) + r) * 4 + c % 4];
    return static_cast<int8_t>((c < 16 ? byte & 0x0F : byte >> 4) - 8);
}

int8_t value_q5_0(const uint8_t* block, int64_t r, int64_t c, uint8_t) {
    const uint8_t byte = block[16 + (8 * (c % 16 / 4) + r) * 4 + c % 4];
    uint32_t fifth;
    std::memcpy(&fifth, block + 144 + 4 * (c / 4), 4);
    const int nibble = c < 16 ? byte & 0x0F : byte >> 4;
    return static_cast<int8_t>((nibble | (((fifth >> (4 * r + c % 4)) & 1) << 4)) - 16);
}

float row_scale(const uint8_t* block, int64_t r) {
    uint16_t d;
    std::memcpy(&d, block + 2 * r, 2);
    return fp16_to_fp32(d);
}

template <int8_t (*Value)(const uint8_t*, int64_t, int64_t, uint8_t), GgmlType T>
void scalar_kernel(int64_t n_blocks, const uint8_t* group, const InterleavedInput& input, int64_t first_token, int n_tokens,
                   float* out, int64_t out_stride) {
    for (int i = 0; i < n_tokens; ++i) {
        const int64_t t = first_token + i;
        const BlockQ8_0* a = input.rows[t];
        float even[kInterleavedRows] = {}, odd[kInterleavedRows] = {};
        const uint8_t* block = group;
        for (int64_t b = 0; b < n_blocks; ++b, block += interleaved_block_bytes(T)) {
            float* acc = b % 2 == 0 ? even : odd;
            for (int64_t r = 0; r < kInterleavedRows; ++r) {
                int32_t sum = 0;
                for (int64_t c = 0; c < kQK; ++c) sum += Value(block, r, c, input.weight_bias) * a[b].qs[c];
                acc[r] = std::fma(static_cast<float>(sum), row_scale(block, r) * input.scales[t * n_blocks + b], acc[r]);
            }
        }
        for (int64_t r = 0; r < kInterleavedRows; ++r) out[i * out_stride + r] = even[r] + odd[r];
    }
}

}  // namespace

bool has_interleaved_layout(GgmlType type) { return type == GgmlType::Q8_0 || type == GgmlType::Q4_0 || type == GgmlType::Q5_0; }

InterleavedKernels interleaved_kernels(Isa isa, GgmlType type) {
    if (isa == Isa::Avx2) {
        if (InterleavedKernel k = interleaved_vnni(type)) return {k, static_cast<uint8_t>(type == GgmlType::Q8_0 ? 0x80 : 0), 4};
    } else if (isa == Isa::Neon) {
        if (InterleavedKernel k = interleaved_neon(type)) return {k, 0, 2};
    }
    return {};
}

InterleavedKernel interleaved_scalar(GgmlType type) {
    if (type == GgmlType::Q8_0) return scalar_kernel<value_q8_0, GgmlType::Q8_0>;
    if (type == GgmlType::Q4_0) return scalar_kernel<value_q4_0, GgmlType::Q4_0>;
    if (type == GgmlType::Q5_0) return scalar_kernel<value_q5_0, GgmlType::Q5_0>;
    return nullptr;
}

void repack_interleaved(GgmlType type, const uint8_t* src, int64_t rows, int64_t cols, uint8_t bias, uint8_t* dst) {
    const int64_t n_blocks = cols / kQK;
    const size_t block_bytes = interleaved_block_bytes(type) / kInterleavedRows;
    const size_t quants_at = type == GgmlType::Q5_0 ? 6 : 2;  // after the scale (and Q5_0's fifth bits)
    const int64_t quads = type == GgmlType::Q8_0 ? 8 : 4;      // 4-byte groups of quants per row and block
    for (int64_t g = 0; g < rows / kInterleavedRows; ++g) {
        for (int64_t b = 0; b < n_blocks; ++b, dst += kInterleavedRows * block_bytes) {
            if (type == GgmlType::Q5_0) std::memset(dst + 144, 0, 32);
            for (int64_t r = 0; r < kInterleavedRows; ++r) {
                const uint8_t* block = src + ((g * kInterleavedRows + r) * n_blocks + b) * block_bytes;
                std::memcpy(dst + 2 * r, block, 2);  // the scale
                for (int64_t q = 0; q < quads; ++q)
                    for (int64_t k = 0; k < 4; ++k) dst[16 + (8 * q + r) * 4 + k] = block[quants_at + 4 * q + k] ^ bias;
                if (type == GgmlType::Q5_0) {
                    uint32_t fifth;  // bit c: the fifth bit of column c
                    std::memcpy(&fifth, block + 2, 4);
                    for (int64_t q = 0; q < 8; ++q) {
                        uint32_t mask;
                        std::memcpy(&mask, dst + 144 + 4 * q, 4);
                        for (int64_t k = 0; k < 4; ++k) mask |= ((fifth >> (4 * q + k)) & 1u) << (4 * r + k);
                        std::memcpy(dst + 144 + 4 * q, &mask, 4);
                    }
                }
            }
        }
    }
}

void dequantize_interleaved_row(GgmlType type, const uint8_t* data, int64_t r, int64_t cols, uint8_t bias, float* out) {
    const int64_t n_blocks = cols / kQK;
    const size_t block_bytes = interleaved_block_bytes(type);
    const uint8_t* block = data + static_cast<size_t>(r / kInterleavedRows * n_blocks) * block_bytes;
    const int64_t lane = r % kInterleavedRows;
    const auto value = type == GgmlType::Q8_0 ? value_q8_0 : type == GgmlType::Q4_0 ? value_q4_0 : value_q5_0;
    for (int64_t b = 0; b < n_blocks; ++b, block += block_bytes) {
        const float scale = row_scale(block, lane);
        for (int64_t c = 0; c < kQK; ++c) out[b * kQK + c] = scale * value(block, lane, c, bias);
    }
}

}  // namespace rockllm::kernels
