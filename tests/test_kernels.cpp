// The dot-product kernels: scalar kernels against a float64 dot of the dequantized operands, each
// SIMD kernel against its scalar twin, and the threaded, batched matmul against single dots.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <atomic>
#include <random>

#include "llm/kernels/matmul.h"
#include "base/half.h"
#include "llm/kernels/vec_dot.h"
#include "llm/quant/blocks.h"
#include "llm/quant/quantize.h"
#include "test_support.h"

namespace test_kernels {

using namespace rockllm;
using namespace rockllm::kernels;
using rockllm::test::quantized;
using rockllm::test::random_floats;

namespace {

const GgmlType kTypes[] = {GgmlType::F32,  GgmlType::F16,  GgmlType::BF16, GgmlType::Q8_0, GgmlType::Q4_0,
                           GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q2_K, GgmlType::Q3_K,
                           GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K};


// The activation row as the kernel sees it, back in floats.
std::vector<double> activation_values(GgmlType type, const std::vector<uint8_t>& act, int64_t n) {
    std::vector<double> out(static_cast<size_t>(n));
    if (type == GgmlType::F32) {
        for (int64_t i = 0; i < n; ++i) {
            float f;
            std::memcpy(&f, act.data() + 4 * i, 4);
            out[i] = f;
        }
    } else if (type == GgmlType::Q8_0) {
        const auto* b = reinterpret_cast<const quant::BlockQ8_0*>(act.data());
        for (int64_t i = 0; i < n; ++i) out[i] = double(fp16_to_fp32(b[i / 32].d)) * b[i / 32].qs[i % 32];
    } else if (type == GgmlType::Q8_1) {
        const auto* b = reinterpret_cast<const quant::BlockQ8_1*>(act.data());
        for (int64_t i = 0; i < n; ++i) out[i] = double(fp16_to_fp32(b[i / 32].d)) * b[i / 32].qs[i % 32];
    } else {
        const auto* b = reinterpret_cast<const quant::BlockQ8_K*>(act.data());
        for (int64_t i = 0; i < n; ++i) out[i] = double(b[i / 256].d) * b[i / 256].qs[i % 256];
    }
    return out;
}

}  // namespace

TEST_SUITE_BEGIN("unit");

TEST_CASE("scalar kernels equal a float64 dot of the dequantized operands") {
    std::mt19937 rng(5);
    const int64_t n = 1024;
    for (GgmlType type : kTypes) {
        CAPTURE(ggml_type_name(type));
        for (int trial = 0; trial < 20; ++trial) {
            const auto w = quantized(type, random_floats(n, rng, 0.05f));
            const VecDot dot = vec_dot_for(type, Isa::Scalar);
            std::vector<uint8_t> act(activation_row_bytes(dot.activation_type, n));
            quantize_activations(dot.activation_type, random_floats(n, rng, 1.0f).data(), act.data(), n);

            std::vector<float> wf(n);
            quant::dequantize_row(type, w.data(), wf.data(), n);
            const auto af = activation_values(dot.activation_type, act, n);
            double expected = 0, magnitude = 0;
            for (int64_t i = 0; i < n; ++i) {
                expected += wf[i] * af[i];
                magnitude += std::abs(wf[i] * af[i]);
            }
            if (dot.activation_type == GgmlType::Q8_1) {
                // Q8_1 carries each block's activation sum as an fp16 `s`; the format defines the
                // min term as m * s, so the reference uses the stored s as well.
                const auto* a = reinterpret_cast<const quant::BlockQ8_1*>(act.data());
                const size_t block_bytes = ggml_type_info(type).block_bytes;
                for (int64_t b = 0; b < n / 32; ++b) {
                    const float m = fp16_to_fp32(*reinterpret_cast<const uint16_t*>(w.data() + b * block_bytes + 2));
                    double block_sum = 0;
                    for (int j = 0; j < 32; ++j) block_sum += af[b * 32 + j];
                    expected += m * (fp16_to_fp32(a[b].s) - block_sum);
                }
            }
            const double got = dot.fn(n, w.data(), act.data());
            REQUIRE(std::abs(got - expected) <= 1e-5 * magnitude + 1e-6);
        }
    }
}

TEST_CASE("SIMD kernels equal their scalar twins") {
    const Isa isa = detected_isa();
    MESSAGE("kernel instruction set on this machine: " << std::string(isa_name(isa)));
    if (isa == Isa::Scalar) {
        // Nothing to compare on this CPU; the scalar kernels are covered above.
        CHECK((vec_dot_for(GgmlType::Q8_0, isa).fn == scalar_vec_dot(GgmlType::Q8_0)));
        return;
    }
    std::mt19937 rng(11);
    int simd_kernels = 0;
    for (GgmlType type : kTypes) {
        CAPTURE(ggml_type_name(type));
        const VecDot simd = vec_dot_for(type, isa), scalar = vec_dot_for(type, Isa::Scalar);
        REQUIRE(simd.activation_type == scalar.activation_type);
        if (simd.fn != scalar.fn) ++simd_kernels;
        for (int64_t n : {256, 512, 4864}) {
            for (int trial = 0; trial < 10; ++trial) {
                const auto xs = random_floats(n, rng, 0.05f);
                const auto w = quantized(type, xs);
                std::vector<uint8_t> act(activation_row_bytes(simd.activation_type, n));
                quantize_activations(simd.activation_type, random_floats(n, rng, 1.0f).data(), act.data(), n);
                double magnitude = 0;
                for (float v : xs) magnitude += std::abs(v);
                const float a = simd.fn(n, w.data(), act.data()), b = scalar.fn(n, w.data(), act.data());
                REQUIRE(std::abs(a - b) <= 1e-5 * magnitude * 4 + 1e-6);
            }
        }
    }
    CHECK(simd_kernels >= 5);  // F32, F16, Q8_0, Q4_0, Q4_K, Q6_K have SIMD versions
}

TEST_CASE("matmul: threads and batches give exactly the single-dot results" * doctest::test_suite("unit-threads")) {
    std::mt19937 rng(3);
    ThreadPool pool(3);
    for (GgmlType type : {GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q5_0, GgmlType::Q4_K, GgmlType::Q6_K, GgmlType::F16, GgmlType::Q5_1}) {
        CAPTURE(ggml_type_name(type));
        const int64_t cols = 512, rows = 77, tokens = 37;
        const auto w_bytes = quantized(type, random_floats(cols * rows, rng, 0.05f));
        WeightMatrix w;
        w.type = type;
        w.cols = cols;
        w.rows = rows;
        w.data = w_bytes.data();
        w.row_bytes = w_bytes.size() / rows;
        const auto x = random_floats(cols * tokens, rng, 1.0f);
        std::vector<float> out(rows * tokens);
        Matmul matmul;
        matmul.run(w, x.data(), tokens, out.data(), pool);

        const VecDot dot = vec_dot_for(type);
        std::vector<uint8_t> act(activation_row_bytes(dot.activation_type, cols));
        for (int64_t t = 0; t < tokens; ++t) {
            quantize_activations(dot.activation_type, x.data() + t * cols, act.data(), cols);
            for (int64_t r = 0; r < rows; ++r)
                REQUIRE(out[t * rows + r] == dot.fn(cols, w.row(r), act.data()));
        }
    }
}

TEST_CASE("matmul: one group of matrices whose types want different activation formats (mixed-precision files)") {
    // F32 (float activations), Q8_0 (Q8_0), Q4_1 (Q8_1) and Q4_K (Q8_K) in one group, as a
    // "dynamic" quantization mixes them within a layer: each job reads its own format's buffer,
    // and the buffers of the first jobs stay valid while later formats are added.
    std::mt19937 rng(5);
    ThreadPool pool(1);
    const int64_t cols = 256, rows = 8, tokens = 3;
    const GgmlType types[] = {GgmlType::F32, GgmlType::Q8_0, GgmlType::Q4_1, GgmlType::Q4_K};
    std::vector<std::vector<uint8_t>> bytes;
    std::vector<WeightMatrix> weights;
    for (GgmlType type : types) {
        bytes.push_back(quantized(type, random_floats(cols * rows, rng, 0.05f)));
        WeightMatrix w;
        w.type = type, w.cols = cols, w.rows = rows, w.data = bytes.back().data(), w.row_bytes = bytes.back().size() / rows;
        weights.push_back(w);
    }
    const auto x = random_floats(cols * tokens, rng, 1.0f);
    std::vector<std::vector<float>> grouped(std::size(types), std::vector<float>(rows * tokens));
    std::vector<MatmulJob> jobs;
    for (size_t i = 0; i < std::size(types); ++i) jobs.push_back({&weights[i], grouped[i].data()});
    Matmul matmul;
    matmul.run(jobs, x.data(), tokens, pool);
    for (size_t i = 0; i < std::size(types); ++i) {
        CAPTURE(ggml_type_name(types[i]));
        std::vector<float> alone(rows * tokens);
        Matmul().run(weights[i], x.data(), tokens, alone.data(), pool);
        CHECK(grouped[i] == alone);
    }
}

TEST_CASE("thread pool: every index runs once per call, many calls in a row" * doctest::test_suite("unit-threads")) {
    ThreadPool pool(4);
    CHECK(pool.size() == 4);
    std::vector<std::atomic<int>> hits(1000);
    for (int round = 0; round < 200; ++round)
        pool.parallel_for(1000, [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; ++i) hits[i]++;
        });
    for (auto& h : hits) REQUIRE(h.load() == 200);
    ThreadPool single(1);
    int calls = 0;
    single.run([&](int i, int n) { calls += (i == 0 && n == 1); });
    CHECK(calls == 1);
}

TEST_SUITE_END();

}  // namespace test_kernels
