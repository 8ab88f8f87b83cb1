#include "npu/matmul_layout.h"

#include <algorithm>
#include <cstring>

namespace rockllm::npu {

namespace {

constexpr int64_t kAtomBytes = 16;   // one lane group of the feature and output cubes
constexpr int64_t kOutputLanes = 4;  // 32-bit results per atom

}  // namespace

size_t input_bytes(MatmulType type) { return type == MatmulType::Int8 ? 1 : 2; }

MatmulShape padded_shape(MatmulShape s, MatmulType type) {
    return {round_up(s.m, 4), round_up(s.k, 32), round_up(s.n, type == MatmulType::Int8 ? 32 : 16)};
}

size_t feature_bytes(MatmulShape p, MatmulType type) { return static_cast<size_t>(p.m * p.k) * input_bytes(type); }
size_t weight_bytes(MatmulShape p, MatmulType type) { return static_cast<size_t>(p.n * p.k) * input_bytes(type); }
size_t output_bytes(MatmulShape p) { return static_cast<size_t>(p.m * p.n) * 4; }

size_t feature_offset(MatmulShape p, MatmulType type, int64_t m, int64_t k) {
    const int64_t lanes = kAtomBytes / static_cast<int64_t>(input_bytes(type));
    return static_cast<size_t>(((k / lanes) * p.m + m) * lanes + k % lanes) * input_bytes(type);
}

size_t weight_offset(MatmulShape p, MatmulType type, int64_t n, int64_t k) {
    const int64_t group = type == MatmulType::Int8 ? 32 : 16;  // kernels per tile
    const int64_t element = (n / group) * group * p.k + (k / 32) * group * 32 + (n % group) * 32 + k % 32;
    return static_cast<size_t>(element) * input_bytes(type);
}

size_t output_offset(MatmulShape p, int64_t m, int64_t n) {
    return static_cast<size_t>(((n / kOutputLanes) * p.m + m) * kOutputLanes + n % kOutputLanes) * 4;
}

void pack_feature(const void* a, int64_t lda, MatmulShape s, MatmulType type, uint8_t* out, int64_t valid_rows) {
    const MatmulShape p = padded_shape(s, type);
    const size_t size = input_bytes(type);
    const int64_t lanes = kAtomBytes / static_cast<int64_t>(size);
    std::memset(out, 0, feature_bytes(p, type));
    const auto* src = static_cast<const uint8_t*>(a);
    // An atom's lanes are consecutive K of one row: copied together (the last one may be partial).
    const int64_t rows = valid_rows < 0 ? s.m : std::min(valid_rows, s.m);
    for (int64_t m = 0; m < rows; ++m)
        for (int64_t k = 0; k < s.k; k += lanes)
            std::memcpy(out + feature_offset(p, type, m, k), src + static_cast<size_t>(m * lda + k) * size,
                        static_cast<size_t>(std::min(lanes, s.k - k)) * size);
}

void pack_weights(const void* b, int64_t ldb, MatmulShape s, MatmulType type, uint8_t* out) {
    const MatmulShape p = padded_shape(s, type);
    const size_t size = input_bytes(type);
    std::memset(out, 0, weight_bytes(p, type));
    const auto* src = static_cast<const uint8_t*>(b);
    // A kernel's 32 consecutive K within a tile are contiguous: copied together.
    for (int64_t n = 0; n < s.n; ++n)
        for (int64_t k = 0; k < s.k; k += 32)
            std::memcpy(out + weight_offset(p, type, n, k), src + static_cast<size_t>(n * ldb + k) * size,
                        static_cast<size_t>(std::min<int64_t>(32, s.k - k)) * size);
}

void unpack_output(const uint8_t* cube, MatmulShape s, MatmulType type, void* c, int64_t ldc, int64_t valid_rows) {
    const MatmulShape p = padded_shape(s, type);
    auto* dst = static_cast<uint8_t*>(c);
    // An atom holds 4 consecutive N of one row: copied together (the last one may be partial).
    const int64_t rows = valid_rows < 0 ? s.m : std::min(valid_rows, s.m);
    for (int64_t m = 0; m < rows; ++m)
        for (int64_t n = 0; n < s.n; n += kOutputLanes)
            std::memcpy(dst + static_cast<size_t>(m * ldc + n) * 4, cube + output_offset(p, m, n),
                        static_cast<size_t>(std::min(kOutputLanes, s.n - n)) * 4);
}

}  // namespace rockllm::npu
