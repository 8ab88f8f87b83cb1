// The interleaved kernels (interleaved.h) with AVX512-VNNI: a 512-bit vector holds two blocks of a
// group (block b in the low half, b + 1 in the high half), VPDPBUSD multiplies the eight rows'
// unsigned quants by four activation bytes broadcast per half and adds into one int32 lane per row
// and block; the unsigned offset (128 for biased Q8_0, 8 for Q4_0, 16 for Q5_0) times the
// activations' block sum starts each sum below zero. The halves accumulate the even and the odd blocks, added
// at the end: the order of the portable kernel.
#include "llm/kernels/interleaved.h"

#if defined(__x86_64__)

// GCC 12's AVX-512 headers leave the pass-through operand of their unmasked forms "undefined"
// (a variable initialised from itself), which -Wuninitialized reports in every caller. Popped at
// the end of the file: a unity build compiles other files after this one.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <cstring>

#include "llm/kernels/target_isa.h"


namespace rockllm::kernels {

namespace {

ROCKLLM_VNNI inline __m512i two_halves(const void* low, const void* high) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256(static_cast<const __m256i*>(low))),
                              _mm256_loadu_si256(static_cast<const __m256i*>(high)), 1);
}

// The eight quad vectors of a block (or two), as unsigned bytes, and their offset.
template <GgmlType T>
struct Weights;

template <>
struct Weights<GgmlType::Q8_0> {
    static constexpr int32_t kOffset = 128;
    ROCKLLM_VNNI static void load(const uint8_t* low, const uint8_t* high, __m512i w[8]) {
        for (int q = 0; q < 8; ++q) w[q] = two_halves(low + 16 + 32 * q, high + 16 + 32 * q);
    }
    ROCKLLM_VNNI static void load(const uint8_t* block, __m256i w[8]) {
        for (int q = 0; q < 8; ++q) w[q] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + 16 + 32 * q));
    }
};

template <>
struct Weights<GgmlType::Q4_0> {
    static constexpr int32_t kOffset = 8;
    ROCKLLM_VNNI static void load(const uint8_t* low, const uint8_t* high, __m512i w[8]) {
        const __m512i nibble = _mm512_set1_epi8(0x0F);
        for (int j = 0; j < 4; ++j) {
            const __m512i v = two_halves(low + 16 + 32 * j, high + 16 + 32 * j);
            w[j] = _mm512_and_si512(v, nibble);
            w[j + 4] = _mm512_and_si512(_mm512_srli_epi16(v, 4), nibble);
        }
    }
    ROCKLLM_VNNI static void load(const uint8_t* block, __m256i w[8]) {
        const __m256i nibble = _mm256_set1_epi8(0x0F);
        for (int j = 0; j < 4; ++j) {
            const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + 16 + 32 * j));
            w[j] = _mm256_and_si256(v, nibble);
            w[j + 4] = _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble);
        }
    }
};

template <>
struct Weights<GgmlType::Q5_0> {
    static constexpr int32_t kOffset = 16;
    // The nibbles as Q4_0's, with the fifth bits (16) set where each quad's mask says.
    ROCKLLM_VNNI static void load(const uint8_t* low, const uint8_t* high, __m512i w[8]) {
        Weights<GgmlType::Q4_0>::load(low, high, w);
        const __m512i fifth = _mm512_set1_epi8(0x10);
        for (int q = 0; q < 8; ++q) {
            uint32_t lo, hi;
            std::memcpy(&lo, low + 144 + 4 * q, 4);
            std::memcpy(&hi, high + 144 + 4 * q, 4);
            w[q] = _mm512_or_si512(w[q], _mm512_maskz_mov_epi8(static_cast<__mmask64>(lo) | (static_cast<__mmask64>(hi) << 32), fifth));
        }
    }
    ROCKLLM_VNNI static void load(const uint8_t* block, __m256i w[8]) {
        Weights<GgmlType::Q4_0>::load(block, w);
        const __m256i fifth = _mm256_set1_epi8(0x10);
        for (int q = 0; q < 8; ++q) {
            uint32_t mask;
            std::memcpy(&mask, block + 144 + 4 * q, 4);
            w[q] = _mm256_or_si256(w[q], _mm256_maskz_mov_epi8(mask, fifth));
        }
    }
};

template <GgmlType T, int N>
ROCKLLM_VNNI void vnni_tokens(int64_t n_blocks, const uint8_t* group, const InterleavedInput& in, int64_t first_token,
                              float* out, int64_t out_stride) {
    using W = Weights<T>;
    constexpr size_t kBlockBytes = interleaved_block_bytes(T);
    // Selects activation quad q of each half: dword q of the low half, dword 8 + q of the high one.
    __m512i pick[8];
    for (int q = 0; q < 8; ++q) pick[q] = _mm512_set_epi32(8 + q, 8 + q, 8 + q, 8 + q, 8 + q, 8 + q, 8 + q, 8 + q, q, q, q, q, q, q, q, q);
    __m512 acc[N];
    for (int i = 0; i < N; ++i) acc[i] = _mm512_setzero_ps();
    int64_t b = 0;
    for (; b + 2 <= n_blocks; b += 2, group += 2 * kBlockBytes) {
        const uint8_t* next = group + kBlockBytes;
        const __m512 row_scales = _mm512_cvtph_ps(_mm256_inserti128_si256(
            _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(group))),
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(next)), 1));
        __m512i w[8];
        W::load(group, next, w);
        for (int i = 0; i < N; ++i) {
            const int64_t t = first_token + i;
            const quant::BlockQ8_0* a = in.rows[t];
            const __m512i act = two_halves(a[b].qs, a[b + 1].qs);
            const int32_t* sums = in.sums + t * n_blocks + b;
            const float* scales = in.scales + t * n_blocks + b;
            __m512i even = _mm512_inserti64x4(_mm512_set1_epi32(-W::kOffset * sums[0]), _mm256_set1_epi32(-W::kOffset * sums[1]), 1);
            __m512i odd = _mm512_setzero_si512();
            for (int q = 0; q < 8; q += 2) {
                even = _mm512_dpbusd_epi32(even, w[q], _mm512_permutexvar_epi32(pick[q], act));
                odd = _mm512_dpbusd_epi32(odd, w[q + 1], _mm512_permutexvar_epi32(pick[q + 1], act));
            }
            const __m512 a_scales = _mm512_insertf32x8(_mm512_set1_ps(scales[0]), _mm256_set1_ps(scales[1]), 1);
            acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(even, odd)), _mm512_mul_ps(row_scales, a_scales), acc[i]);
        }
    }
    for (int i = 0; i < N; ++i) {
        __m256 even_blocks = _mm512_castps512_ps256(acc[i]);
        const __m256 odd_blocks = _mm512_extractf32x8_ps(acc[i], 1);
        if (b < n_blocks) {  // an odd count: the last block is an even one
            const int64_t t = first_token + i;
            const __m256 row_scales = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(group)));
            const __m256i act = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in.rows[t][b].qs));
            __m256i w[8];
            W::load(group, w);
            __m256i even = _mm256_set1_epi32(-W::kOffset * in.sums[t * n_blocks + b]), odd = _mm256_setzero_si256();
            for (int q = 0; q < 8; q += 2) {
                even = _mm256_dpbusd_epi32(even, w[q], _mm256_permutevar8x32_epi32(act, _mm256_set1_epi32(q)));
                odd = _mm256_dpbusd_epi32(odd, w[q + 1], _mm256_permutevar8x32_epi32(act, _mm256_set1_epi32(q + 1)));
            }
            even_blocks = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(even, odd)),
                                          _mm256_mul_ps(row_scales, _mm256_set1_ps(in.scales[t * n_blocks + b])), even_blocks);
        }
        _mm256_storeu_ps(out + i * out_stride, _mm256_add_ps(even_blocks, odd_blocks));
    }
}

template <GgmlType T>
void vnni_kernel(int64_t n_blocks, const uint8_t* group, const InterleavedInput& in, int64_t first_token, int n_tokens, float* out,
                 int64_t out_stride) {
    switch (n_tokens) {
        case 1: return vnni_tokens<T, 1>(n_blocks, group, in, first_token, out, out_stride);
        case 2: return vnni_tokens<T, 2>(n_blocks, group, in, first_token, out, out_stride);
        case 3: return vnni_tokens<T, 3>(n_blocks, group, in, first_token, out, out_stride);
        default: return vnni_tokens<T, 4>(n_blocks, group, in, first_token, out, out_stride);
    }
}

}  // namespace

InterleavedKernel interleaved_vnni(GgmlType type) {
    if (!avx512_vnni_available()) return nullptr;
    if (type == GgmlType::Q8_0) return vnni_kernel<GgmlType::Q8_0>;
    if (type == GgmlType::Q4_0) return vnni_kernel<GgmlType::Q4_0>;
    if (type == GgmlType::Q5_0) return vnni_kernel<GgmlType::Q5_0>;
    return nullptr;
}

}  // namespace rockllm::kernels

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#else

namespace rockllm::kernels {
InterleavedKernel interleaved_vnni(GgmlType) { return nullptr; }
}  // namespace rockllm::kernels

#endif
