// The NPU's data layouts for C[M×N] = A[M×K] · B[N×K]ᵀ run as a 1×1 convolution (rk3588-npu.md
// §5.2): A as a feature cube (K/C2, M, C2) with C2 = 16 bytes of lanes, B as kernel tiles, C as an
// output cube (N/4, M, 4) of 32-bit values. Sizes are padded to the hardware's alignments with zeros.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rockllm::npu {

enum class MatmulType {
    Int8,  // int8 × int8 → int32 (exact)
    Fp16,  // fp16 × fp16 → fp32
};

struct MatmulShape {
    int64_t m = 0, k = 0, n = 0;
};

inline int64_t round_up(int64_t x, int64_t to) { return (x + to - 1) / to * to; }

// The element size of A and B.
size_t input_bytes(MatmulType type);
// M to a multiple of 4, K to 32, N to 32 (int8) or 16 (fp16).
MatmulShape padded_shape(MatmulShape shape, MatmulType type);

size_t feature_bytes(MatmulShape padded, MatmulType type);
size_t weight_bytes(MatmulShape padded, MatmulType type);
size_t output_bytes(MatmulShape padded);  // 32-bit results

// Byte offsets of one element in each layout (padded shape).
size_t feature_offset(MatmulShape padded, MatmulType type, int64_t m, int64_t k);
size_t weight_offset(MatmulShape padded, MatmulType type, int64_t n, int64_t k);
size_t output_offset(MatmulShape padded, int64_t m, int64_t n);

// Packing: a is M×K (row stride lda elements), b is N×K (row stride ldb), each of the matmul's
// element type (int8_t or fp16 bits as uint16_t); out holds the padded layout's bytes (zeroed first).
// valid_rows < shape.m: only that many rows of A exist; the rest of the cube is zeros.
void pack_feature(const void* a, int64_t lda, MatmulShape shape, MatmulType type, uint8_t* out, int64_t valid_rows = -1);
void pack_weights(const void* b, int64_t ldb, MatmulShape shape, MatmulType type, uint8_t* out);
// Unpacking the output cube into c (M×N, row stride ldc): int32 for Int8, float for Fp16.
// valid_rows < shape.m: only that many rows of C are wanted.
void unpack_output(const uint8_t* cube, MatmulShape shape, MatmulType type, void* c, int64_t ldc, int64_t valid_rows = -1);

}  // namespace rockllm::npu
