// The interleaved Q8_0 kernel (q8_0x8.h) with AVX512-VNNI on 256-bit vectors: VPDPBUSD multiplies
// the eight rows' unsigned (biased) quants by four broadcast activation bytes and adds into one
// int32 lane per row.
#include "llm/kernels/q8_0x8.h"

#if defined(__x86_64__)

#include <immintrin.h>

#include <cstring>

#define ROCKLLM_VNNI __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512vnni")))

namespace rockllm::kernels {

namespace {

template <int N>
ROCKLLM_VNNI void q8_0x8_vnni_tokens(int64_t n_blocks, const uint8_t* group, const Q8_0x8Input& in, int64_t first_token,
                                     float* out, int64_t out_stride) {
    __m256 acc[N];
    const quant::BlockQ8_0* a[N];
    const float* scales[N];
    const int32_t* corrections[N];
    for (int i = 0; i < N; ++i) {
        acc[i] = _mm256_setzero_ps();
        a[i] = in.rows[first_token + i];
        scales[i] = in.scales + (first_token + i) * n_blocks;
        corrections[i] = in.corrections + (first_token + i) * n_blocks;
    }
    for (int64_t b = 0; b < n_blocks; ++b, group += kQ8_0x8BlockBytes) {
        const __m256 row_scales = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(group)));
        __m256i w[8];
        for (int q = 0; q < 8; ++q) w[q] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(group + 16 + 32 * q));
        for (int i = 0; i < N; ++i) {
            int32_t quads[8];
            std::memcpy(quads, a[i][b].qs, sizeof quads);
            // Two chains, even and odd quads, so that one token does not wait on one long chain.
            __m256i even = _mm256_set1_epi32(corrections[i][b]), odd = _mm256_setzero_si256();
            for (int q = 0; q < 8; q += 2) {
                even = _mm256_dpbusd_epi32(even, w[q], _mm256_set1_epi32(quads[q]));
                odd = _mm256_dpbusd_epi32(odd, w[q + 1], _mm256_set1_epi32(quads[q + 1]));
            }
            const __m256 sum = _mm256_cvtepi32_ps(_mm256_add_epi32(even, odd));
            acc[i] = _mm256_fmadd_ps(sum, _mm256_mul_ps(row_scales, _mm256_set1_ps(scales[i][b])), acc[i]);
        }
    }
    for (int i = 0; i < N; ++i) _mm256_storeu_ps(out + i * out_stride, acc[i]);
}

void q8_0x8_vnni_kernel(int64_t n_blocks, const uint8_t* group, const Q8_0x8Input& in, int64_t first_token, int n_tokens,
                        float* out, int64_t out_stride) {
    switch (n_tokens) {
        case 1: return q8_0x8_vnni_tokens<1>(n_blocks, group, in, first_token, out, out_stride);
        case 2: return q8_0x8_vnni_tokens<2>(n_blocks, group, in, first_token, out, out_stride);
        case 3: return q8_0x8_vnni_tokens<3>(n_blocks, group, in, first_token, out, out_stride);
        default: return q8_0x8_vnni_tokens<4>(n_blocks, group, in, first_token, out, out_stride);
    }
}

}  // namespace

Q8_0x8Kernel q8_0x8_vnni() {
    static const bool available = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                                  __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                                  __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni");
    return available ? q8_0x8_vnni_kernel : nullptr;
}

}  // namespace rockllm::kernels

#else

namespace rockllm::kernels {
Q8_0x8Kernel q8_0x8_vnni() { return nullptr; }
}  // namespace rockllm::kernels

#endif
