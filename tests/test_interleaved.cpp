// The interleaved Q8_0 and Q4_0 layouts and their kernels: repacking keeps every value, the
// portable kernel equals a float64 dot of the operands, the SIMD kernel equals the portable one bit
// for bit, and a matmul over a repacked matrix gives every token the same result whatever else is
// in the batch.
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "base/half.h"
#include "llm/kernels/matmul.h"
#include "llm/kernels/interleaved.h"
#include "llm/model.h"
#include "llm/quant/quantize.h"
#include "llm/synthetic_model.h"
#include "llm/transformer.h"
#include "llm/weight_repack.h"
#include "test_support.h"

namespace test_interleaved {

using namespace rockllm;
using namespace rockllm::kernels;
using rockllm::test::quantized;
using rockllm::test::random_floats;

namespace {

std::vector<uint8_t> q8_0(const std::vector<float>& x) { return quantized(GgmlType::Q8_0, x); }

struct Matrix {
    std::vector<uint8_t> rows_bytes, packed_bytes;
    WeightMatrix rows, packed;
};

Matrix make_matrix(GgmlType type, int64_t rows, int64_t cols, uint8_t bias, std::mt19937& rng) {
    Matrix m;
    m.rows_bytes = quantized(type, random_floats(rows * cols, rng, 0.05f));
    m.packed_bytes.resize(m.rows_bytes.size());
    repack_interleaved(type, m.rows_bytes.data(), rows, cols, bias, m.packed_bytes.data());
    m.rows.type = type, m.rows.cols = cols, m.rows.rows = rows;
    m.rows.data = m.rows_bytes.data(), m.rows.row_bytes = m.rows_bytes.size() / static_cast<size_t>(rows);
    m.packed = m.rows;
    m.packed.data = m.packed_bytes.data(), m.packed.layout = WeightLayout::Interleaved8, m.packed.quant_bias = bias;
    return m;
}

const GgmlType kInterleavedTypes[] = {GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q5_0};

}  // namespace

TEST_SUITE_BEGIN("unit");

TEST_CASE("interleaved kernels: repacking keeps every value, and the kernels equal a float64 dot") {
    std::mt19937 rng(21);
    const int64_t rows = 16, cols = 96, tokens = 5;
    for (const auto& [type, bias] : {std::pair{GgmlType::Q8_0, uint8_t{0}}, std::pair{GgmlType::Q8_0, uint8_t{0x80}}, std::pair{GgmlType::Q4_0, uint8_t{0}},
                                      std::pair{GgmlType::Q5_0, uint8_t{0}}}) {
        CAPTURE(ggml_type_name(type));
        CAPTURE(int(bias));
        const Matrix m = make_matrix(type, rows, cols, bias, rng);
        std::vector<float> expected(cols), got(cols);
        for (int64_t r = 0; r < rows; ++r) {
            m.rows.read_row(r, expected);
            m.packed.read_row(r, got);
            REQUIRE(got == expected);
        }
        // Activations: Q8_0 rows, their scales as floats and block sums as the kernels take them.
        std::vector<std::vector<uint8_t>> act;
        std::vector<const quant::BlockQ8_0*> act_rows;
        std::vector<float> scales;
        std::vector<int32_t> sums;
        for (int64_t t = 0; t < tokens; ++t) act.push_back(q8_0(random_floats(cols, rng, 1.0f)));
        for (const auto& a : act) {
            const auto* blocks = reinterpret_cast<const quant::BlockQ8_0*>(a.data());
            act_rows.push_back(blocks);
            for (int64_t b = 0; b < cols / quant::kQK; ++b) {
                int32_t sum = 0;
                for (int8_t q : blocks[b].qs) sum += q;
                scales.push_back(fp16_to_fp32(blocks[b].d));
                sums.push_back(sum);
            }
        }
        const InterleavedInput input{act_rows.data(), scales.data(), sums.data(), bias};
        std::vector<float> out(static_cast<size_t>(tokens * rows));
        for (int64_t g = 0; g < rows / 8; ++g)
            interleaved_scalar(type)(cols / quant::kQK, m.packed_bytes.data() + g * 8 * m.rows.row_bytes, input, 0,
                                     static_cast<int>(tokens), out.data() + g * 8, rows);
        std::vector<float> w(cols), a(cols);
        for (int64_t t = 0; t < tokens; ++t) {
            quant::dequantize_row(GgmlType::Q8_0, act[t].data(), a.data(), cols);
            for (int64_t r = 0; r < rows; ++r) {
                m.rows.read_row(r, w);
                double dot = 0;
                for (int64_t i = 0; i < cols; ++i) dot += double(w[i]) * a[i];
                CHECK(out[t * rows + r] == doctest::Approx(dot).epsilon(1e-5));
            }
        }
        // The instruction set's kernel, where it has one for this bias: bit for bit the portable one.
        const InterleavedKernels simd = interleaved_kernels(detected_isa(), type);
        if (simd.kernel && simd.bias == bias) {
            for (int n = 1; n <= simd.max_tokens; ++n) {
                std::vector<float> fast(static_cast<size_t>(n * rows));
                for (int64_t g = 0; g < rows / 8; ++g)
                    simd.kernel(cols / quant::kQK, m.packed_bytes.data() + g * 8 * m.rows.row_bytes, input, 1, n, fast.data() + g * 8, rows);
                for (int i = 0; i < n; ++i)
                    for (int64_t r = 0; r < rows; ++r) REQUIRE(fast[i * rows + r] == out[(1 + i) * rows + r]);
            }
        }
    }
}

TEST_CASE("interleaved matmul: every token's result is the same alone and in any batch, beside row-layout matrices") {
    std::mt19937 rng(22);
    ThreadPool pool(3);
    const int64_t cols = 256;
    const InterleavedKernels q8 = interleaved_kernels(detected_isa(), GgmlType::Q8_0);
    const Matrix a = make_matrix(GgmlType::Q8_0, 72, cols, q8.bias, rng), b = make_matrix(GgmlType::Q4_0, 40, cols, 0, rng),
                 c = make_matrix(GgmlType::Q5_0, 16, cols, 0, rng);
    const auto k_bytes = [&] {
        const auto x = random_floats(24 * cols, rng, 0.05f);
        std::vector<uint8_t> out(24 * cols / 256 * sizeof(quant::BlockQ4_K));
        quant::quantize_row(GgmlType::Q4_K, x.data(), out.data(), 24 * cols);
        return out;
    }();
    WeightMatrix k;
    k.type = GgmlType::Q4_K, k.cols = cols, k.rows = 24, k.data = k_bytes.data(), k.row_bytes = k_bytes.size() / 24;
    const int64_t max_tokens = 9;
    const auto x = random_floats(max_tokens * cols, rng, 1.0f);
    // One token alone, through the repacked matrices and the row-layout ones.
    std::vector<float> alone_a(72 * max_tokens), alone_b(40 * max_tokens), alone_c(16 * max_tokens), alone_k(24 * max_tokens),
        rows_a(72), rows_b(40), rows_c(16);
    Matmul matmul;
    for (int64_t t = 0; t < max_tokens; ++t) {
        const MatmulJob jobs[] = {{&a.packed, alone_a.data() + t * 72}, {&b.packed, alone_b.data() + t * 40},
                                  {&c.packed, alone_c.data() + t * 16}, {&k, alone_k.data() + t * 24}};
        matmul.run(jobs, x.data() + t * cols, 1, pool);
        matmul.run(a.rows, x.data() + t * cols, 1, rows_a.data(), pool);
        matmul.run(b.rows, x.data() + t * cols, 1, rows_b.data(), pool);
        matmul.run(c.rows, x.data() + t * cols, 1, rows_c.data(), pool);
        for (int64_t r = 0; r < 72; ++r) CHECK(alone_a[t * 72 + r] == doctest::Approx(rows_a[r]).epsilon(1e-4));
        for (int64_t r = 0; r < 40; ++r) CHECK(alone_b[t * 40 + r] == doctest::Approx(rows_b[r]).epsilon(1e-4));
        for (int64_t r = 0; r < 16; ++r) CHECK(alone_c[t * 16 + r] == doctest::Approx(rows_c[r]).epsilon(1e-4));
    }
    // Every batch size: the same values, bit for bit.
    for (int64_t n = 1; n <= max_tokens; ++n) {
        CAPTURE(n);
        std::vector<float> out_a(72 * n), out_b(40 * n), out_c(16 * n), out_k(24 * n);
        const MatmulJob jobs[] = {{&a.packed, out_a.data()}, {&b.packed, out_b.data()}, {&c.packed, out_c.data()}, {&k, out_k.data()}};
        matmul.run(jobs, x.data(), n, pool);
        CHECK(std::equal(out_a.begin(), out_a.end(), alone_a.begin()));
        CHECK(std::equal(out_b.begin(), out_b.end(), alone_b.begin()));
        CHECK(std::equal(out_c.begin(), out_c.end(), alone_c.begin()));
        CHECK(std::equal(out_k.begin(), out_k.end(), alone_k.begin()));
    }
}

TEST_CASE("interleaved repack of a model: the embedding reads the same rows, the logits stay those of the file's layout") {
  for (const GgmlType type : kInterleavedTypes) {
    CAPTURE(ggml_type_name(type));
    const test::ScratchDir dir;
    const std::string path = dir.file("tiny-qwen2.gguf");
    write_synthetic_model(find_synthetic_shape("tiny-qwen2"), ggml_type_name(type), 5, path);  // tied embeddings
    const auto file = std::make_shared<const gguf::File>(gguf::File::open(path));
    const Model plain = Model::load(file);
    Model packed = Model::load(file);
    const RepackReport report = repack_for_cpu(packed);
    if (!interleaved_kernels(detected_isa(), type).kernel) {
        CHECK(report.matrices == 0);
        continue;
    }
    CHECK(report.matrices == 1 + 7 * plain.config.n_layer);  // the output (the tied embedding) and every layer matrix
    CHECK(packed.output.layout == WeightLayout::Interleaved8);
    CHECK(packed.token_embedding.data == packed.output.data);
    std::vector<float> expected(plain.config.n_embd), got(plain.config.n_embd);
    for (int64_t r : {int64_t{0}, int64_t{7}, plain.config.n_vocab - 1}) {
        plain.token_embedding.read_row(r, expected);
        packed.token_embedding.read_row(r, got);
        CHECK(got == expected);
    }
    TransformerOptions o;
    o.n_ctx = 64;
    Transformer a(plain, o), b(packed, o);
    const std::vector<int32_t> prompt = {1, 17, 300, 42, 5};
    const std::span<const float> la = a.forward(prompt, 0);
    const std::vector<float> expected_logits(la.begin(), la.end());
    const std::span<const float> lb = b.forward(prompt, 0);
    double max_diff = 0, max_abs = 0;
    for (size_t i = 0; i < expected_logits.size(); ++i) {
        max_diff = std::max(max_diff, std::fabs(double(lb[i]) - expected_logits[i]));
        max_abs = std::max(max_abs, std::fabs(double(expected_logits[i])));
    }
    CHECK(max_diff <= 1e-4 * std::max(1.0, max_abs));
  }
}

TEST_SUITE_END();

}  // namespace test_interleaved
