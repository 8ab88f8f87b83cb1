// Weights repacked at load for the CPU's multiply-accumulate instructions: eight rows interleaved
// block by block, so that one SIMD instruction multiplies four columns of eight rows (x86
// VPDPBUSD, Arm SDOT on two registers) and one vector multiply applies the eight rows' scales. Row
// by row, as in the file, every row needs its own horizontal sum and scalar scale work per block;
// interleaved, the kernel does a third of the work per weight, and the weights of a block stay in
// registers while up to four tokens of a batch pass over them.
//
// Layouts, per group of 8 rows and per block of 32 columns (the bytes the 8 rows take in the file):
//   Q8_0 (272 bytes): 8 fp16 scales (rows 0..7), then for quad q = 0..7 (columns 4q..4q+3) and row
//     r = 0..7 the four quants of row r at columns 4q..4q+3, at byte 16 + (8q + r) * 4. x86's
//     VPDPBUSD multiplies unsigned by signed bytes, so there the quants are stored XOR 0x80 (+128)
//     and the kernel subtracts 128 × the activations' block sum (the layout's "bias").
//   Q4_0 (144 bytes): 8 fp16 scales, then for j = 0..3 and row r the file's quant bytes 4j..4j+3
//     of row r at byte 16 + (8j + r) * 4: low nibbles are quad j, high nibbles quad j + 4, each
//     value nibble - 8 (on x86 the nibbles are multiplied as they are and 8 × the sum subtracted).
//   Q5_0 (176 bytes): as Q4_0, then for quad q = 0..7 a 32-bit mask whose bit 4r + k is the fifth
//     bit of row r at column 4q + k, at byte 144 + 4q; each value (nibble | fifth bit << 4) - 16.
#pragma once

#include <cstddef>
#include <cstdint>

#include "llm/ggml_type.h"
#include "llm/kernels/vec_dot.h"
#include "llm/quant/blocks.h"

namespace rockllm::kernels {

constexpr int64_t kInterleavedRows = 8;

// The types that have an interleaved layout, and the bytes of one block of a group of 8 rows.
bool has_interleaved_layout(GgmlType type);
constexpr size_t interleaved_block_bytes(GgmlType type) {
    return kInterleavedRows * (type == GgmlType::Q8_0   ? sizeof(quant::BlockQ8_0)
                               : type == GgmlType::Q4_0 ? sizeof(quant::BlockQ4_0)
                                                        : sizeof(quant::BlockQ5_0));
}

// The activations a group's kernel reads: n_tokens rows of Q8_0 blocks, with each block's scale as
// a float and the sum of its quants, both [token * n_blocks + block].
struct InterleavedInput {
    const quant::BlockQ8_0* const* rows;
    const float* scales;
    const int32_t* sums;
    uint8_t weight_bias = 0;  // the matrix's Q8_0 bias (the SIMD kernels are only given their own)
};

// out[i * out_stride + r] = row r of the group · activation row first_token + i, for i < n_tokens.
using InterleavedKernel = void (*)(int64_t n_blocks, const uint8_t* group, const InterleavedInput& input, int64_t first_token,
                                   int n_tokens, float* out, int64_t out_stride);

// The kernel for a type on this instruction set and the Q8_0 bias its layout needs; kernel null
// when there is none (then matrices stay as they are in the file).
struct InterleavedKernels {
    InterleavedKernel kernel = nullptr;
    uint8_t bias = 0;
    int max_tokens = 4;  // tokens one call takes
};
InterleavedKernels interleaved_kernels(Isa isa, GgmlType type);

// Repacks a matrix of `rows` rows (a multiple of 8) and `cols` columns into dst (as many bytes).
void repack_interleaved(GgmlType type, const uint8_t* src, int64_t rows, int64_t cols, uint8_t bias, uint8_t* dst);
// Row r of a repacked matrix as floats.
void dequantize_interleaved_row(GgmlType type, const uint8_t* data, int64_t r, int64_t cols, uint8_t bias, float* out);

// The portable kernel of a type, for either bias: the reference for the SIMD ones. Its order of
// addition, which the SIMD kernels keep: the even and the odd blocks in two sums, added at the end.
InterleavedKernel interleaved_scalar(GgmlType type);
// The SIMD kernels (interleaved_vnni.cpp, interleaved_neon.cpp); null where the CPU lacks the
// instructions or the type has none.
InterleavedKernel interleaved_vnni(GgmlType type);
InterleavedKernel interleaved_neon(GgmlType type);

}  // namespace rockllm::kernels
