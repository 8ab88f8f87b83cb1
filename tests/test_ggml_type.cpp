#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <ios>
#include <limits>
#include <random>

#include "base/half.h"
#include "llm/ggml_type.h"

namespace test_ggml_type {

using namespace rockllm;

// The compiler's own half-precision type: an independent implementation of the IEEE conversions.
#if defined(__aarch64__)
using CompilerHalf = __fp16;
#else
using CompilerHalf = _Float16;
#endif

TEST_SUITE_BEGIN("unit");

TEST_CASE("ggml type table: geometry of the common types") {
    CHECK(ggml_type_info(GgmlType::F32).block_bytes == 4);
    CHECK(ggml_type_info(GgmlType::Q8_0).block_size == 32);
    CHECK(ggml_type_info(GgmlType::Q8_0).block_bytes == 34);   // fp16 scale + 32 int8
    CHECK(ggml_type_info(GgmlType::Q4_K).block_bytes == 144);  // 2 fp16 + 12 scale bytes + 128 nibble bytes
    CHECK(ggml_type_info(GgmlType::Q6_K).block_bytes == 210);  // 128 + 64 + 16 scales + fp16
    CHECK(find_ggml_type(4) == nullptr);  // Q4_2, removed from the format
    CHECK(find_ggml_type(5) == nullptr);
    CHECK(find_ggml_type(1000) == nullptr);
    CHECK(ggml_type_name(GgmlType::BF16) == "BF16");
}

TEST_CASE("fp16 -> fp32 agrees with the compiler's half type for all 65536 bit patterns") {
    for (uint32_t bits = 0; bits < 65536; ++bits) {
        const auto h = static_cast<uint16_t>(bits);
        CompilerHalf reference;
        std::memcpy(&reference, &h, 2);
        const float expected = static_cast<float>(reference);
        const float got = fp16_to_fp32(h);
        if (std::isnan(expected)) {
            CHECK(std::isnan(got));
        } else if (std::bit_cast<uint32_t>(got) != std::bit_cast<uint32_t>(expected)) {
            FAIL("half 0x" << std::hex << bits << " gave " << got << " expected " << expected);
        }
    }
}

TEST_CASE("fp32 -> fp16 rounds to nearest even like the compiler's half type") {
    std::mt19937 rng(7);
    auto check = [](float f) {
        const CompilerHalf reference = static_cast<CompilerHalf>(f);
        uint16_t expected;
        std::memcpy(&expected, &reference, 2);
        const uint16_t got = fp32_to_fp16(f);
        if (std::isnan(f)) {
            CHECK((got & 0x7c00) == 0x7c00);
            CHECK((got & 0x3ff) != 0);
        } else if (got != expected) {
            FAIL("float " << f << " (0x" << std::hex << std::bit_cast<uint32_t>(f) << ") gave 0x" << got
                          << " expected 0x" << expected);
        }
    };
    // Every exponent region, including subnormal results, overflow and exact ties.
    for (int i = 0; i < 200000; ++i) check(std::bit_cast<float>(static_cast<uint32_t>(rng())));
    for (uint32_t bits = 0x33000000; bits < 0x47800000; bits += 0x1000 - 1) check(std::bit_cast<float>(bits));
    for (uint32_t h = 0; h < 0x7c00; ++h) {  // midpoints between neighbouring halves are ties
        const float lo = fp16_to_fp32(static_cast<uint16_t>(h)), hi = fp16_to_fp32(static_cast<uint16_t>(h + 1));
        check((lo + hi) / 2);
        check(-(lo + hi) / 2);
    }
    check(65504.0f);
    check(65520.0f);  // rounds up to infinity
    check(1e10f);
    check(-0.0f);
    check(std::numeric_limits<float>::infinity());
    check(std::nanf(""));
}

TEST_CASE("bf16 -> fp32 is the upper half of the float") {
    CHECK(bf16_to_fp32(0x3f80) == 1.0f);
    CHECK(bf16_to_fp32(0xc000) == -2.0f);
    CHECK(bf16_to_fp32(0x0000) == 0.0f);
}

TEST_SUITE_END();

}  // namespace test_ggml_type
