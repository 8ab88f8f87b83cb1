// AVX2 + FMA + F16C kernels for the weight types of the common GGUF files (Q8_0, Q4_0, Q4_K, Q6_K,
// F16). Each function carries its own target attribute, so the rest of the program keeps running
// on CPUs without AVX2; vec_dot_for() only hands these out when the CPU has the features.
#include "llm/kernels/vec_dot.h"

#if defined(__x86_64__)

#include <cpuid.h>
#include <immintrin.h>

#include <cstring>

#include "llm/kernels/target_isa.h"
#include "llm/quant/blocks.h"


namespace rockllm::kernels {

using namespace rockllm::quant;

namespace {

ROCKLLM_AVX2 inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

ROCKLLM_AVX2 inline float half_to_float(uint16_t h) { return _cvtsh_ss(h); }

// Eight int32 sums of signed x * signed y over 32 byte pairs (maddubs needs one unsigned side).
ROCKLLM_AVX2 inline __m256i dot_i8(__m256i x, __m256i y) {
    const __m256i ax = _mm256_sign_epi8(x, x);
    const __m256i sy = _mm256_sign_epi8(y, x);
    return _mm256_madd_epi16(_mm256_maddubs_epi16(ax, sy), _mm256_set1_epi16(1));
}

ROCKLLM_AVX2 inline __m256i unpack_nibbles(const uint8_t* qs) {  // element j at byte j, 0..15
    const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
    const __m256i both = _mm256_set_m128i(_mm_srli_epi16(packed, 4), packed);
    return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

// 0xFF in byte j where bit j of `bits` is set.
ROCKLLM_AVX2 inline __m256i bits_to_bytes(uint32_t bits) {
    const __m256i spread = _mm256_shuffle_epi8(
        _mm256_set1_epi32(static_cast<int>(bits)),
        _mm256_setr_epi64x(0x0000000000000000, 0x0101010101010101, 0x0202020202020202, 0x0303030303030303));
    const __m256i all_but_bit = _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe);  // byte k: ~(1 << k)
    return _mm256_cmpeq_epi8(_mm256_or_si256(spread, all_but_bit), _mm256_set1_epi64x(-1));
}

ROCKLLM_AVX2 inline __m256i unpack_q5_0(const BlockQ5_0& b) {  // element values -16..15
    uint32_t qh;
    std::memcpy(&qh, b.qh, 4);
    const __m256i high = _mm256_and_si256(bits_to_bytes(qh), _mm256_set1_epi8(0x10));
    return _mm256_sub_epi8(_mm256_or_si256(unpack_nibbles(b.qs), high), _mm256_set1_epi8(16));
}

// Each quantized kernel is written once for N activation rows: N = 1 for decoding, N = 4 for prompt
// batches, where each weight block is loaded and unpacked once for four tokens.
template <class Block, int N>
struct Rows {
    const Block* y[N];
    explicit Rows(const void* const a[N]) {
        for (int k = 0; k < N; ++k) y[k] = static_cast<const Block*>(a[k]);
    }
};

template <int N>
ROCKLLM_AVX2 inline void store_sums(const __m256 (&acc)[N], float out[N]) {
    for (int k = 0; k < N; ++k) out[k] = hsum(acc[k]);
}

// Q8_0, Q4_0 and Q5_0 differ only in how a block's 32 signed weights are unpacked.
template <class Block, __m256i (*Unpack)(const Block&), int N>
ROCKLLM_AVX2 void dot_q8_blocks(int64_t n, const void* w, const void* const a[N], float out[N]) {
    const auto* x = static_cast<const Block*>(w);
    const Rows<BlockQ8_0, N> rows(a);
    __m256 acc[N];
    for (auto& v : acc) v = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / kQK; ++i) {
        const __m256i qx = Unpack(x[i]);
        const float dx = half_to_float(x[i].d);
        for (int k = 0; k < N; ++k) {
            const __m256i qy = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows.y[k][i].qs));
            const __m256 d = _mm256_set1_ps(dx * half_to_float(rows.y[k][i].d));
            acc[k] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dot_i8(qx, qy)), acc[k]);
        }
    }
    store_sums<N>(acc, out);
}

ROCKLLM_AVX2 inline __m256i unpack_q8_0(const BlockQ8_0& b) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs));
}
ROCKLLM_AVX2 inline __m256i unpack_q4_0(const BlockQ4_0& b) {
    return _mm256_sub_epi8(unpack_nibbles(b.qs), _mm256_set1_epi8(8));
}

template <int N>
ROCKLLM_AVX2 void dot_q4_k(int64_t n, const void* w, const void* const a[N], float out[N]) {
    const auto* x = static_cast<const BlockQ4_K*>(w);
    const Rows<BlockQ8_K, N> rows(a);
    const __m256i low_mask = _mm256_set1_epi8(0x0F);
    __m256 acc[N];
    for (auto& v : acc) v = _mm256_setzero_ps();
    float mins_total[N] = {};
    for (int64_t i = 0; i < n / kQKK; ++i) {
        uint8_t sc[8], m[8];
        for (int g = 0; g < 8; ++g) k4_scale_min(g, x[i].scales, sc[g], m[g]);
        const float dx = half_to_float(x[i].d), dmin = half_to_float(x[i].dmin);
        __m256i sumi[N];
        for (auto& v : sumi) v = _mm256_setzero_si256();
        for (int j = 0; j < 4; ++j) {
            const __m256i q4 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[i].qs + 32 * j));
            const __m256i lo = _mm256_and_si256(q4, low_mask);
            const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q4, 4), low_mask);
            const __m256i sc_lo = _mm256_set1_epi16(sc[2 * j]), sc_hi = _mm256_set1_epi16(sc[2 * j + 1]);
            for (int k = 0; k < N; ++k) {
                const int8_t* yq = rows.y[k][i].qs + 64 * j;
                const __m256i y_lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(yq));
                const __m256i y_hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(yq + 32));
                const __m256i p_lo = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, y_lo), sc_lo);
                const __m256i p_hi = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, y_hi), sc_hi);
                sumi[k] = _mm256_add_epi32(sumi[k], _mm256_add_epi32(p_lo, p_hi));
            }
        }
        for (int k = 0; k < N; ++k) {
            const BlockQ8_K& yb = rows.y[k][i];
            int mins = 0;
            for (int g = 0; g < 8; ++g) mins += m[g] * (yb.bsums[2 * g] + yb.bsums[2 * g + 1]);
            mins_total[k] += yb.d * dmin * static_cast<float>(mins);
            acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(yb.d * dx), _mm256_cvtepi32_ps(sumi[k]), acc[k]);
        }
    }
    for (int k = 0; k < N; ++k) out[k] = hsum(acc[k]) - mins_total[k];
}

template <int N>
ROCKLLM_AVX2 void dot_q6_k(int64_t n, const void* w, const void* const a[N], float out[N]) {
    const auto* x = static_cast<const BlockQ6_K*>(w);
    const Rows<BlockQ8_K, N> rows(a);
    const __m256i low_mask = _mm256_set1_epi8(0x0F);
    const __m256i two_bits = _mm256_set1_epi8(0x03);
    const __m256i offset = _mm256_set1_epi8(32);
    __m256 acc[N];
    for (auto& v : acc) v = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / kQKK; ++i) {
        __m256i sumi[N];
        for (auto& v : sumi) v = _mm256_setzero_si256();
        for (int half = 0; half < 2; ++half) {
            const uint8_t* ql = x[i].ql + 64 * half;
            const __m256i ql0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql));
            const __m256i ql1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql + 32));
            const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[i].qh + 32 * half));
            const __m256i q[4] = {
                _mm256_or_si256(_mm256_and_si256(ql0, low_mask), _mm256_slli_epi16(_mm256_and_si256(qh, two_bits), 4)),
                _mm256_or_si256(_mm256_and_si256(ql1, low_mask),
                                _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), two_bits), 4)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low_mask),
                                _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), two_bits), 4)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low_mask),
                                _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), two_bits), 4)),
            };
            for (int part = 0; part < 4; ++part) {
                const int8_t* sc = x[i].scales + 8 * half + 2 * part;
                const __m256i scales = _mm256_set_m128i(_mm_set1_epi16(sc[1]), _mm_set1_epi16(sc[0]));
                for (int k = 0; k < N; ++k) {
                    const __m256i qy =
                        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows.y[k][i].qs + 128 * half + 32 * part));
                    // (q - 32) * y = q * y - 32 * y, with q unsigned for maddubs.
                    const __m256i prod =
                        _mm256_sub_epi16(_mm256_maddubs_epi16(q[part], qy), _mm256_maddubs_epi16(offset, qy));
                    sumi[k] = _mm256_add_epi32(sumi[k], _mm256_madd_epi16(prod, scales));
                }
            }
        }
        const float dx = half_to_float(x[i].d);
        for (int k = 0; k < N; ++k)
            acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(rows.y[k][i].d * dx), _mm256_cvtepi32_ps(sumi[k]), acc[k]);
    }
    store_sums<N>(acc, out);
}

// Tile of 4 weight rows x 4 tokens for the 32-element formats (Q8_0, Q4_0, Q5_0) with AVX512-VNNI (256-bit registers). vpdpbusd multiplies
// unsigned by signed bytes, so the activations are offset by 128 (one XOR per activation block,
// shared by the four rows) and 128 * sum(w) is subtracted through the accumulator's start value
// (once per weight block, shared by the four tokens): sum((a + 128) * w) - 128 * sum(w) = sum(a * w).
// The integer lanes, scales and accumulation order equal dot_q8_blocks', so the results are identical.

template <class Block, __m256i (*Unpack)(const Block&)>
ROCKLLM_VNNI void tile_vnni(int64_t n, const void* const w[4], const void* const a[4], float out[4][4]) {
    const Block* x[4] = {static_cast<const Block*>(w[0]), static_cast<const Block*>(w[1]),
                         static_cast<const Block*>(w[2]), static_cast<const Block*>(w[3])};
    const Rows<BlockQ8_0, 4> rows(a);
    const __m256i offset = _mm256_set1_epi8(static_cast<char>(0x80));
    __m256 acc[4][4];
    for (auto& row : acc)
        for (auto& v : row) v = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / kQK; ++i) {
        __m256i act[4];
        __m256 act_scale[4];
        for (int t = 0; t < 4; ++t) {
            act[t] = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows.y[t][i].qs)), offset);
            act_scale[t] = _mm256_set1_ps(half_to_float(rows.y[t][i].d));
        }
        for (int r = 0; r < 4; ++r) {
            const __m256i wr = Unpack(x[r][i]);
            const __m256i start = _mm256_sub_epi32(_mm256_setzero_si256(),
                                                   _mm256_dpbusd_epi32(_mm256_setzero_si256(), offset, wr));
            const __m256 wscale = _mm256_set1_ps(half_to_float(x[r][i].d));
            for (int t = 0; t < 4; ++t) {
                const __m256i p = _mm256_dpbusd_epi32(start, act[t], wr);
                acc[r][t] = _mm256_fmadd_ps(_mm256_mul_ps(wscale, act_scale[t]), _mm256_cvtepi32_ps(p), acc[r][t]);
            }
        }
    }
    for (int r = 0; r < 4; ++r)
        for (int t = 0; t < 4; ++t) out[r][t] = hsum(acc[r][t]);
}

// The one-row entry points of the table.
template <void (*Kernel)(int64_t, const void*, const void* const*, float*)>
float single(int64_t n, const void* w, const void* a) {
    const void* rows[1] = {a};
    float out[1];
    Kernel(n, w, rows, out);
    return out[0];
}

ROCKLLM_AVX2 float dot_f16(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const uint16_t*>(w);
    const auto* y = static_cast<const float*>(a);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m256 x0 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i)));
        const __m256 x1 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i + 8)));
        acc0 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(y + i), acc0);
        acc1 = _mm256_fmadd_ps(x1, _mm256_loadu_ps(y + i + 8), acc1);
    }
    float sum = hsum(_mm256_add_ps(acc0, acc1));
    for (; i < n; ++i) sum += half_to_float(x[i]) * y[i];
    return sum;
}

ROCKLLM_AVX2 float dot_f32(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const float*>(w);
    const auto* y = static_cast<const float*>(a);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8), acc1);
    }
    float sum = hsum(_mm256_add_ps(acc0, acc1));
    for (; i < n; ++i) sum += x[i] * y[i];
    return sum;
}

}  // namespace

ROCKLLM_AVX2 void axpy_f16_avx2(int64_t n, float a, const uint16_t* x, float* y) {
    const __m256 va = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 xv = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i)));
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, xv, _mm256_loadu_ps(y + i)));
    }
    for (; i < n; ++i) y[i] += a * half_to_float(x[i]);
}

// Asked once: the kernels are chosen for every matrix product, and (below) cpuid traps to the
// hypervisor in a virtual machine, tens of microseconds each time.
bool avx512_vnni_available() {
    static const bool available = avx2_available() && __builtin_cpu_supports("avx512f") &&
                                  __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
                                  __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vnni");
    return available;
}

VecDotTileFn vnni_vec_dot_tile(GgmlType type) {
    if (!avx512_vnni_available()) return nullptr;
    switch (type) {
        case GgmlType::Q8_0: return tile_vnni<BlockQ8_0, unpack_q8_0>;
        case GgmlType::Q4_0: return tile_vnni<BlockQ4_0, unpack_q4_0>;
        case GgmlType::Q5_0: return tile_vnni<BlockQ5_0, unpack_q5_0>;
        default: return nullptr;
    }
}

// F16C through cpuid (leaf 1, ECX bit 29): clang's __builtin_cpu_supports does not know "f16c".
bool f16c_available() {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    return __get_cpuid(1, &eax, &ebx, &ecx, &edx) != 0 && (ecx & (1u << 29)) != 0;
}

bool avx2_available() {
    static const bool available = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && f16c_available();
    return available;
}

VecDotFn avx2_vec_dot(GgmlType type) {
    if (!avx2_available()) return nullptr;
    switch (type) {
        case GgmlType::F32: return dot_f32;
        case GgmlType::F16: return dot_f16;
        case GgmlType::Q8_0: return single<dot_q8_blocks<BlockQ8_0, unpack_q8_0, 1>>;
        case GgmlType::Q4_0: return single<dot_q8_blocks<BlockQ4_0, unpack_q4_0, 1>>;
        case GgmlType::Q5_0: return single<dot_q8_blocks<BlockQ5_0, unpack_q5_0, 1>>;
        case GgmlType::Q4_K: return single<dot_q4_k<1>>;
        case GgmlType::Q6_K: return single<dot_q6_k<1>>;
        default: return nullptr;
    }
}

VecDot4Fn avx2_vec_dot4(GgmlType type) {
    if (!avx2_available()) return nullptr;
    switch (type) {
        case GgmlType::Q8_0: return dot_q8_blocks<BlockQ8_0, unpack_q8_0, 4>;
        case GgmlType::Q4_0: return dot_q8_blocks<BlockQ4_0, unpack_q4_0, 4>;
        case GgmlType::Q5_0: return dot_q8_blocks<BlockQ5_0, unpack_q5_0, 4>;
        case GgmlType::Q4_K: return dot_q4_k<4>;
        case GgmlType::Q6_K: return dot_q6_k<4>;
        default: return nullptr;
    }
}

}  // namespace rockllm::kernels

#else  // not x86-64

namespace rockllm::kernels {
bool avx2_available() { return false; }
bool avx512_vnni_available() { return false; }
VecDotFn avx2_vec_dot(GgmlType) { return nullptr; }
VecDot4Fn avx2_vec_dot4(GgmlType) { return nullptr; }
VecDotTileFn vnni_vec_dot_tile(GgmlType) { return nullptr; }
void axpy_f16_avx2(int64_t, float, const uint16_t*, float*) {}
}  // namespace rockllm::kernels

#endif
