// Q8_0 weights repacked at load for the CPU's multiply-accumulate instructions: eight rows
// interleaved block by block, so that one SIMD instruction multiplies four columns of eight rows
// (x86 VPDPBUSD, Arm SDOT on two registers) and one vector multiply applies the eight rows'
// scales. Row by row, as in the file, every row needs its own horizontal sum and scalar scale
// work per block; interleaved, the kernel does a third of the work per weight, and the weights of a
// block stay in registers while up to four tokens of a batch pass over them.
//
// Layout, per group of 8 rows and per block of 32 columns (272 bytes, as the 8 rows take in Q8_0):
//   8 fp16 scales (row 0..7), then for quad q = 0..7 (columns 4q..4q+3) and row r = 0..7 the four
//   quants of row r at columns 4q..4q+3, at byte 16 + (8q + r) * 4.
// x86's VPDPBUSD multiplies unsigned by signed bytes, so there the quants are stored + 128 and the
// kernel subtracts 128 × the activations' block sum (the "bias" of the layout).
#pragma once

#include <cstddef>
#include <cstdint>

#include "llm/kernels/vec_dot.h"
#include "llm/quant/blocks.h"

namespace rockllm::kernels {

constexpr int64_t kQ8_0x8Rows = 8;
constexpr size_t kQ8_0x8BlockBytes = 16 + 8 * 32;

// The activations a group's kernel reads: n_tokens rows of Q8_0 blocks, with each block's scale as
// a float and, for the unsigned layout, -128 × the sum of its quants, both [token * n_blocks + block].
struct Q8_0x8Input {
    const quant::BlockQ8_0* const* rows;
    const float* scales;
    const int32_t* corrections;
    uint8_t weight_bias = 0;  // the matrix's layout bias (the SIMD kernels are only given their own)
};

// out[i * out_stride + r] = row r of the group · activation row first_token + i, for i < n_tokens.
using Q8_0x8Kernel = void (*)(int64_t n_blocks, const uint8_t* group, const Q8_0x8Input& input, int64_t first_token,
                              int n_tokens, float* out, int64_t out_stride);

// The kernel for this instruction set and the bias its layout needs; kernel null when there is
// none (then matrices stay as they are in the file).
struct Q8_0x8Kernels {
    Q8_0x8Kernel kernel = nullptr;
    uint8_t bias = 0;
    int max_tokens = 4;  // tokens one call takes
};
Q8_0x8Kernels q8_0x8_kernels(Isa isa);

// Repacks a Q8_0 matrix of `rows` rows (a multiple of 8) and `cols` columns into dst
// (rows * cols / 32 * 34 bytes, as the source).
void repack_q8_0x8(const uint8_t* src, int64_t rows, int64_t cols, uint8_t bias, uint8_t* dst);
// Row r of a repacked matrix as floats.
void dequantize_q8_0x8_row(const uint8_t* data, int64_t r, int64_t cols, uint8_t bias, float* out);

// The portable kernel, for either bias: the reference for the SIMD ones.
void q8_0x8_scalar(int64_t n_blocks, const uint8_t* group, const Q8_0x8Input& input, int64_t first_token, int n_tokens,
                   float* out, int64_t out_stride);
// The SIMD kernels (q8_0x8_vnni.cpp, q8_0x8_neon.cpp); null where the CPU lacks the instructions.
Q8_0x8Kernel q8_0x8_vnni();
Q8_0x8Kernel q8_0x8_neon();

}  // namespace rockllm::kernels
