// Dot products of one weight row (any supported GGUF type) with activations quantized to the
// matching 8-bit format, so quantized weights are never expanded to floats:
//   Q4_0, Q5_0, Q8_0 with Q8_0 activations; Q4_1, Q5_1 with Q8_1; K formats with Q8_K;
//   F32, F16, BF16 with F32 activations.
// Every kernel has a portable scalar version; SIMD versions are chosen at run time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "llm/ggml_type.h"

namespace rockllm::kernels {

using VecDotFn = float (*)(int64_t n, const void* weights, const void* activations);
// One weight row against four activation rows at once (prompt batches): the weight blocks are
// loaded and unpacked once for four tokens.
using VecDot4Fn = void (*)(int64_t n, const void* weights, const void* const activations[4], float out[4]);

// Four weight rows against four activation rows: out[r][t] = dot(weights[r], activations[t]),
// exactly the values fn would give.
using VecDotTileFn = void (*)(int64_t n, const void* const weights[4], const void* const activations[4],
                              float out[4][4]);

struct VecDot {
    GgmlType activation_type;
    VecDotFn fn;
    VecDot4Fn fn4 = nullptr;     // optional
    VecDotTileFn tile = nullptr;  // optional
};

enum class Isa { Scalar, Avx2, Neon };
Isa detected_isa();
const char* isa_name(Isa isa);
// The kernels this CPU gets, for logs and benchmark reports (e.g. "avx2 + avx512-vnni tiles").
std::string kernel_description();

// The kernel for a weight type on the given instruction set (Scalar is always available;
// an ISA without a dedicated kernel for the type falls back to scalar). Throws for unsupported types.
VecDot vec_dot_for(GgmlType weight_type, Isa isa = detected_isa());

// Bytes one activation row of n elements takes in the given activation format.
size_t activation_row_bytes(GgmlType activation_type, int64_t n);
// Converts n floats into the activation format (n a multiple of its block size).
void quantize_activations(GgmlType activation_type, const float* x, void* out, int64_t n);

// Scalar and SIMD kernel tables (defined in vec_dot_*.cpp).
VecDotFn scalar_vec_dot(GgmlType weight_type);
VecDotFn avx2_vec_dot(GgmlType weight_type);  // nullptr where there is none
VecDot4Fn avx2_vec_dot4(GgmlType weight_type);
VecDotTileFn vnni_vec_dot_tile(GgmlType weight_type);  // AVX512-VNNI, nullptr where there is none
bool avx2_available();
bool avx512_vnni_available();  // with AVX512 F, VL, BW and DQ (false off x86)
VecDotFn neon_vec_dot(GgmlType weight_type);  // nullptr where there is none
bool neon_dotprod_available();
void axpy_f16_avx2(int64_t n, float a, const uint16_t* x, float* y);

// y += a * x for an F16 row x (attention's weighted sum over cached values).
void axpy_f16(int64_t n, float a, const uint16_t* x, float* y, Isa isa = detected_isa());

}  // namespace rockllm::kernels
