#include "llm/kernels/vec_dot.h"
#include "llm/kernels/interleaved.h"
#include "base/half.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "llm/quant/blocks.h"

namespace rockllm::kernels {

using namespace rockllm::quant;

Isa detected_isa() {
#if defined(__aarch64__)
    static const Isa isa = neon_dotprod_available() ? Isa::Neon : Isa::Scalar;
    return isa;
#else
    static const Isa isa = avx2_available() ? Isa::Avx2 : Isa::Scalar;
    return isa;
#endif
}

const char* isa_name(Isa isa) {
    switch (isa) {
        case Isa::Scalar: return "scalar";
        case Isa::Avx2: return "avx2";
        case Isa::Neon: return "neon";
    }
    return "?";
}

std::string kernel_description() {
    std::string out = isa_name(detected_isa());
    if (vnni_vec_dot_tile(GgmlType::Q8_0)) out += " + avx512-vnni tiles";
    if (interleaved_kernels(detected_isa(), GgmlType::Q8_0).kernel) out += " + interleaved Q8_0/Q4_0/Q5_0";
    return out;
}

namespace {

GgmlType activation_type_for(GgmlType weight) {
    switch (weight) {
        case GgmlType::F32: case GgmlType::F16: case GgmlType::BF16: return GgmlType::F32;
        case GgmlType::Q4_0: case GgmlType::Q5_0: case GgmlType::Q8_0: return GgmlType::Q8_0;
        case GgmlType::Q4_1: case GgmlType::Q5_1: return GgmlType::Q8_1;
        default: return GgmlType::Q8_K;
    }
}

// Round to nearest (ties to even) for |v| < 2^22, which every scaled activation is (|v| <= 127):
// adding 1.5 * 2^23 pushes the fraction out of the float's mantissa. Much faster than lround.
inline int8_t round_small(float v) {
    constexpr float kMagic = 12582912.0f;
    return static_cast<int8_t>(static_cast<int>((v + kMagic) - kMagic));
}

void quantize_q8_0(const float* x, BlockQ8_0* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, x += kQK) {
        float amax = 0;
        for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
        const float d = amax / 127.0f, id = d != 0 ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        for (int j = 0; j < kQK; ++j) y[i].qs[j] = round_small(x[j] * id);
    }
}

void quantize_q8_1(const float* x, BlockQ8_1* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, x += kQK) {
        float amax = 0;
        for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
        const float d = amax / 127.0f, id = d != 0 ? 1.0f / d : 0.0f;
        int sum = 0;
        for (int j = 0; j < kQK; ++j) {
            y[i].qs[j] = round_small(x[j] * id);
            sum += y[i].qs[j];
        }
        y[i].d = fp32_to_fp16(d);
        y[i].s = fp32_to_fp16(d * static_cast<float>(sum));
    }
}

void quantize_q8_k(const float* x, BlockQ8_K* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, x += kQKK) {
        float amax = 0;
        for (int j = 0; j < kQKK; ++j) amax = std::max(amax, std::fabs(x[j]));
        const float d = amax / 127.0f, id = d != 0 ? 1.0f / d : 0.0f;
        y[i].d = d;
        for (int j = 0; j < kQKK; ++j) y[i].qs[j] = round_small(x[j] * id);
        for (int g = 0; g < kQKK / 16; ++g) {
            int sum = 0;
            for (int l = 0; l < 16; ++l) sum += y[i].qs[16 * g + l];
            y[i].bsums[g] = static_cast<int16_t>(sum);
        }
    }
}

}  // namespace

VecDot vec_dot_for(GgmlType weight_type, Isa isa) {
    VecDotFn fn = nullptr;
    VecDot4Fn fn4 = nullptr;
    VecDotTileFn tile = nullptr;
    if (isa == Isa::Avx2) {
        fn = avx2_vec_dot(weight_type);
        fn4 = avx2_vec_dot4(weight_type);
        tile = vnni_vec_dot_tile(weight_type);
    }
    if (isa == Isa::Neon) fn = neon_vec_dot(weight_type);
    if (!fn) fn = scalar_vec_dot(weight_type);
    if (!fn) throw std::invalid_argument("no CPU kernel for tensor type " + ggml_type_name(weight_type));
    return {activation_type_for(weight_type), fn, fn4, tile};
}

void axpy_f16(int64_t n, float a, const uint16_t* x, float* y, Isa isa) {
    if (isa == Isa::Avx2) return axpy_f16_avx2(n, a, x, y);
    for (int64_t i = 0; i < n; ++i) y[i] += a * fp16_to_fp32(x[i]);
}

size_t activation_row_bytes(GgmlType type, int64_t n) {
    switch (type) {
        case GgmlType::F32: return static_cast<size_t>(n) * 4;
        case GgmlType::Q8_0: return static_cast<size_t>(n / kQK) * sizeof(BlockQ8_0);
        case GgmlType::Q8_1: return static_cast<size_t>(n / kQK) * sizeof(BlockQ8_1);
        case GgmlType::Q8_K: return static_cast<size_t>(n / kQKK) * sizeof(BlockQ8_K);
        default: throw std::invalid_argument("not an activation format: " + ggml_type_name(type));
    }
}

void quantize_activations(GgmlType type, const float* x, void* out, int64_t n) {
    switch (type) {
        case GgmlType::F32: std::memcpy(out, x, static_cast<size_t>(n) * 4); return;
        case GgmlType::Q8_0: quantize_q8_0(x, static_cast<BlockQ8_0*>(out), n / kQK); return;
        case GgmlType::Q8_1: quantize_q8_1(x, static_cast<BlockQ8_1*>(out), n / kQK); return;
        case GgmlType::Q8_K: quantize_q8_k(x, static_cast<BlockQ8_K*>(out), n / kQKK); return;
        default: throw std::invalid_argument("not an activation format: " + ggml_type_name(type));
    }
}

}  // namespace rockllm::kernels
