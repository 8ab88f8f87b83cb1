// Every GGUF tensor type: the dequantizer against an element-by-element decoder written here from
// the format definitions (bit-exact), and the quantizer's round trip within a per-type error bound.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <stdexcept>

#include "llm/ggml_type.h"
#include "base/half.h"
#include "llm/quant/quantize.h"

namespace test_quant {

using namespace rockllm;

namespace {

uint16_t half_at(const uint8_t* p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return h;
}
float f16(const uint8_t* p) { return fp16_to_fp32(half_at(p)); }

// Element e of one block, decoded straight from the format definition.
float reference_element(GgmlType type, const uint8_t* b, int e) {
    switch (type) {
        case GgmlType::F32: { float f; std::memcpy(&f, b + 4 * e, 4); return f; }
        case GgmlType::F16: return f16(b + 2 * e);
        case GgmlType::BF16: return bf16_to_fp32(half_at(b + 2 * e));
        case GgmlType::Q8_0: return static_cast<float>(static_cast<int8_t>(b[2 + e])) * f16(b);
        case GgmlType::Q4_0: {
            const int q = e < 16 ? b[2 + e] & 0xF : b[2 + e - 16] >> 4;
            return static_cast<float>(q - 8) * f16(b);
        }
        case GgmlType::Q4_1: {
            const int q = e < 16 ? b[4 + e] & 0xF : b[4 + e - 16] >> 4;
            return static_cast<float>(q) * f16(b) + f16(b + 2);
        }
        case GgmlType::Q5_0: {
            const int low = e < 16 ? b[6 + e] & 0xF : b[6 + e - 16] >> 4;
            const int high = (b[2 + e / 8] >> (e % 8)) & 1;
            return static_cast<float>((low | high << 4) - 16) * f16(b);
        }
        case GgmlType::Q5_1: {
            const int low = e < 16 ? b[8 + e] & 0xF : b[8 + e - 16] >> 4;
            const int high = (b[4 + e / 8] >> (e % 8)) & 1;
            return static_cast<float>(low | high << 4) * f16(b) + f16(b + 2);
        }
        case GgmlType::Q2_K: {  // scales[16] qs[64] d dmin
            const int chunk = e / 128, j = (e % 128) / 32, pos = e % 32, group = e / 16;
            const int q = (b[16 + 32 * chunk + pos] >> (2 * j)) & 3;
            const uint8_t sc = b[group];
            const float dl = f16(b + 80) * static_cast<float>(sc & 0xF);
            const float ml = f16(b + 82) * static_cast<float>(sc >> 4);
            return dl * static_cast<float>(q) - ml;
        }
        case GgmlType::Q3_K: {  // hmask[32] qs[64] scales[12] d
            const int chunk = e / 128, j = (e % 128) / 32, pos = e % 32, is = e / 16;
            const uint8_t* s = b + 96;
            const int scale = is < 4    ? (s[is] & 0xF) | (((s[is + 8] >> 0) & 3) << 4)
                              : is < 8  ? (s[is] & 0xF) | (((s[is + 4] >> 2) & 3) << 4)
                              : is < 12 ? (s[is - 8] >> 4) | (((s[is] >> 4) & 3) << 4)
                                        : (s[is - 8] >> 4) | (((s[is - 4] >> 6) & 3) << 4);
            const int low = (b[32 + 32 * chunk + pos] >> (2 * j)) & 3;
            const bool high = (b[pos] >> (4 * chunk + j)) & 1;
            return f16(b + 108) * static_cast<float>(scale - 32) * static_cast<float>(low - (high ? 0 : 4));
        }
        case GgmlType::Q4_K:
        case GgmlType::Q5_K: {  // d dmin scales[12] (qh[32]) qs[128]
            const bool five = type == GgmlType::Q5_K;
            const uint8_t* s = b + 4;
            const uint8_t* qs = b + (five ? 48 : 16);
            const int g = e / 32, l = e % 32;
            const int sc = g < 4 ? s[g] & 63 : (s[g + 4] & 0xF) | ((s[g - 4] >> 6) << 4);
            const int m = g < 4 ? s[g + 4] & 63 : (s[g + 4] >> 4) | ((s[g] >> 6) << 4);
            int q = (qs[32 * (g / 2) + l] >> (4 * (g % 2))) & 0xF;
            if (five) q += ((b[16 + l] >> g) & 1) ? 16 : 0;
            const float d1 = f16(b) * static_cast<float>(sc), m1 = f16(b + 2) * static_cast<float>(m);
            return d1 * static_cast<float>(q) - m1;
        }
        case GgmlType::Q6_K: {  // ql[128] qh[64] scales[16] d
            const int half = e / 128, k = (e % 128) / 32, p = e % 32;
            const int low = (b[64 * half + p + 32 * (k % 2)] >> (4 * (k / 2))) & 0xF;
            const int high = (b[128 + 32 * half + p] >> (2 * k)) & 3;
            const auto scale = static_cast<int8_t>(b[192 + e / 16]);
            return f16(b + 208) * static_cast<float>(scale) * static_cast<float>((low | high << 4) - 32);
        }
        default: throw std::invalid_argument("no reference decoder");
    }
}

// Byte offsets of the fp16 fields in a block (filled with finite values instead of random bytes).
std::vector<int> half_fields(GgmlType type) {
    switch (type) {
        case GgmlType::Q4_0: case GgmlType::Q5_0: case GgmlType::Q8_0: return {0};
        case GgmlType::Q4_1: case GgmlType::Q5_1: case GgmlType::Q4_K: case GgmlType::Q5_K: return {0, 2};
        case GgmlType::Q2_K: return {80, 82};
        case GgmlType::Q3_K: return {108};
        case GgmlType::Q6_K: return {208};
        default: return {};
    }
}

const GgmlType kTypes[] = {GgmlType::F32,  GgmlType::F16,  GgmlType::BF16, GgmlType::Q8_0, GgmlType::Q4_0,
                           GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q2_K, GgmlType::Q3_K,
                           GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K};

std::vector<uint8_t> random_blocks(GgmlType type, int n_blocks, std::mt19937& rng) {
    const GgmlTypeInfo& info = ggml_type_info(type);
    std::vector<uint8_t> bytes(static_cast<size_t>(n_blocks) * info.block_bytes);
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_real_distribution<float> value(-2.0f, 2.0f);
    for (auto& b : bytes) b = static_cast<uint8_t>(byte(rng));
    for (int i = 0; i < n_blocks; ++i) {
        uint8_t* block = bytes.data() + static_cast<size_t>(i) * info.block_bytes;
        for (int offset : half_fields(type)) {
            const uint16_t h = fp32_to_fp16(value(rng));
            std::memcpy(block + offset, &h, 2);
        }
        if (type == GgmlType::F32)
            for (uint32_t e = 0; e < info.block_size; ++e) {
                const float f = value(rng);
                std::memcpy(block + 4 * e, &f, 4);
            }
        if (type == GgmlType::F16 || type == GgmlType::BF16)
            for (uint32_t e = 0; e < info.block_size; ++e) {
                const uint16_t h = type == GgmlType::F16 ? fp32_to_fp16(value(rng)) : static_cast<uint16_t>(0x3f00 + byte(rng));
                std::memcpy(block + 2 * e, &h, 2);
            }
    }
    return bytes;
}

}  // namespace

TEST_SUITE_BEGIN("unit");

TEST_CASE("dequantization agrees bit for bit with the format definitions on random blocks") {
    std::mt19937 rng(1234);
    for (GgmlType type : kTypes) {
        CAPTURE(ggml_type_name(type));
        const GgmlTypeInfo& info = ggml_type_info(type);
        const int n_blocks = type == GgmlType::F32 || type == GgmlType::F16 || type == GgmlType::BF16 ? 512 : 64;
        const std::vector<uint8_t> blocks = random_blocks(type, n_blocks, rng);
        const int64_t n = static_cast<int64_t>(n_blocks) * info.block_size;
        std::vector<float> got(static_cast<size_t>(n));
        quant::dequantize_row(type, blocks.data(), got.data(), n);
        int mismatches = 0;
        for (int64_t i = 0; i < n; ++i) {
            const uint8_t* block = blocks.data() + (i / info.block_size) * info.block_bytes;
            const float expected = reference_element(type, block, static_cast<int>(i % info.block_size));
            uint32_t a, b;
            std::memcpy(&a, &got[i], 4);
            std::memcpy(&b, &expected, 4);
            if (a != b && mismatches++ < 5) FAIL_CHECK("element " << i << ": " << got[i] << " != " << expected);
        }
        CHECK(mismatches == 0);
    }
}

TEST_CASE("quantize -> dequantize round trip stays within each type's error bound") {
    // Bound on the RMS error relative to the RMS of the data, for Gaussian weights.
    const std::pair<GgmlType, double> bounds[] = {
        {GgmlType::F32, 0.0},    {GgmlType::F16, 1e-3},  {GgmlType::BF16, 5e-3}, {GgmlType::Q8_0, 0.01},
        {GgmlType::Q6_K, 0.03},  {GgmlType::Q5_0, 0.06}, {GgmlType::Q5_1, 0.06}, {GgmlType::Q5_K, 0.06},
        {GgmlType::Q4_0, 0.12},  {GgmlType::Q4_1, 0.12}, {GgmlType::Q4_K, 0.12}, {GgmlType::Q3_K, 0.25},
        {GgmlType::Q2_K, 0.45},
    };
    std::mt19937 rng(99);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    const int64_t n = 4096;
    std::vector<float> x(n);
    for (float& v : x) v = normal(rng) * 0.02f;
    x[5] = 0.3f;  // an outlier, as real weights have
    for (const auto& [type, bound] : bounds) {
        CAPTURE(ggml_type_name(type));
        const GgmlTypeInfo& info = ggml_type_info(type);
        std::vector<uint8_t> q(static_cast<size_t>(n / info.block_size) * info.block_bytes);
        quant::quantize_row(type, x.data(), q.data(), n);
        std::vector<float> y(n);
        quant::dequantize_row(type, q.data(), y.data(), n);
        double err = 0, ref = 0;
        for (int64_t i = 0; i < n; ++i) {
            err += (double(x[i]) - y[i]) * (double(x[i]) - y[i]);
            ref += double(x[i]) * x[i];
        }
        const double relative = std::sqrt(err / ref);
        MESSAGE(ggml_type_name(type) << " relative RMS error " << relative);
        CHECK(relative <= bound);
        // Quantizing the dequantized values again reproduces the same blocks' values.
        std::vector<uint8_t> q2(q.size());
        quant::quantize_row(type, y.data(), q2.data(), n);
        std::vector<float> y2(n);
        quant::dequantize_row(type, q2.data(), y2.data(), n);
        double drift = 0;
        for (int64_t i = 0; i < n; ++i) drift = std::max(drift, std::abs(double(y2[i]) - y[i]));
        CHECK(drift <= 0.05 * 0.3);
    }
}

TEST_CASE("quantizers handle all-zero and constant rows") {
    for (GgmlType type : kTypes) {
        CAPTURE(ggml_type_name(type));
        const GgmlTypeInfo& info = ggml_type_info(type);
        for (float value : {0.0f, 0.5f, -1.25f}) {
            std::vector<float> x(256, value), y(256);
            std::vector<uint8_t> q(256 / info.block_size * info.block_bytes);
            quant::quantize_row(type, x.data(), q.data(), 256);
            quant::dequantize_row(type, q.data(), y.data(), 256);
            for (float v : y) {
                REQUIRE(std::isfinite(v));
                CHECK(std::abs(v - value) <= std::abs(value) * 0.07 + 1e-6);
            }
        }
    }
    std::vector<float> x(33), y(33);
    std::vector<uint8_t> q(64);
    CHECK_THROWS_AS(quant::quantize_row(GgmlType::Q8_0, x.data(), q.data(), 33), std::invalid_argument);
    CHECK_THROWS_AS(quant::dequantize_row(GgmlType::IQ2_XXS, q.data(), y.data(), 256), std::invalid_argument);
}

TEST_SUITE_END();

}  // namespace test_quant
