// The BERT-family encoders (bert, nomic-bert) against a plain float64 encoder written independently
// here from the architecture's definition, on synthetic models in the converter's tensor layout.
#include <doctest/doctest.h>

#include <cmath>

#include "llm/bert_encoder.h"
#include "llm/gguf_writer.h"
#include "llm/model.h"
#include "llm/synthetic_model.h"
#include "llm/weight_repack.h"
#include "test_support.h"

namespace test_bert_encoder {

using namespace rockllm;

namespace {

using Vec = std::vector<double>;
using test::Matrix64;
using test::matvec;

Vec layernorm(const Vec& x, const Matrix64& w, const Matrix64& b, double eps) {
    double mean = 0, var = 0;
    for (double v : x) mean += v;
    mean /= double(x.size());
    for (double v : x) var += (v - mean) * (v - mean);
    var /= double(x.size());
    Vec y(x.size());
    for (size_t i = 0; i < x.size(); ++i) y[i] = (x[i] - mean) / std::sqrt(var + eps) * w.data[i] + b.data[i];
    return y;
}

void add(Vec& x, const Vec& y) {
    for (size_t i = 0; i < x.size(); ++i) x[i] += y[i];
}

void add_bias(Vec& x, const gguf::File& f, const std::string& name) {
    if (f.find_tensor(name)) add(x, test::read_matrix64(f, name).data);
}

// The last block's output for each token, computed in float64 from the file's dequantized weights.
std::vector<Vec> reference_hidden(const gguf::File& f, const std::vector<int32_t>& tokens) {
    const auto& meta = f.metadata();
    const std::string arch = meta.get<std::string>("general.architecture");
    const std::string a = arch + ".";
    const int64_t n_layer = meta.get<int64_t>(a + "block_count");
    const int64_t n_head = meta.get<int64_t>(a + "attention.head_count");
    const int64_t n_embd = meta.get<int64_t>(a + "embedding_length");
    const int64_t dim = n_embd / n_head;
    const double eps = meta.get<float>(a + "attention.layer_norm_epsilon");
    const bool nomic = arch == "nomic-bert";
    const size_t n = tokens.size();

    const Matrix64 embd = test::read_matrix64(f, "token_embd.weight");
    const Matrix64 types = test::read_matrix64(f, "token_types.weight");
    std::vector<Vec> x;
    for (size_t t = 0; t < n; ++t) {
        Vec v(embd.row(tokens[t]), embd.row(tokens[t]) + n_embd);
        add(v, Vec(types.row(0), types.row(0) + n_embd));
        if (!nomic) {
            const Matrix64 positions = test::read_matrix64(f, "position_embd.weight");
            add(v, Vec(positions.row(int64_t(t)), positions.row(int64_t(t)) + n_embd));
        }
        x.push_back(layernorm(v, test::read_matrix64(f, "token_embd_norm.weight"), test::read_matrix64(f, "token_embd_norm.bias"), eps));
    }
    for (int64_t l = 0; l < n_layer; ++l) {
        const std::string p = "blk." + std::to_string(l) + ".";
        const auto W = [&](const std::string& name) { return test::read_matrix64(f, p + name); };
        std::vector<Vec> q(n), k(n), v(n);
        for (size_t t = 0; t < n; ++t) {
            if (nomic) {
                const Matrix64 qkv = W("attn_qkv.weight");
                q[t] = matvec(test::rows_of(qkv, 0, n_embd), x[t]);
                k[t] = matvec(test::rows_of(qkv, n_embd, n_embd), x[t]);
                v[t] = matvec(test::rows_of(qkv, 2 * n_embd, n_embd), x[t]);
                // Rotary positions over whole heads, pairs (i, i + dim/2).
                const double base = meta.get<float>(a + "rope.freq_base");
                for (Vec* r : {&q[t], &k[t]})
                    for (int64_t h = 0; h < n_head; ++h)
                        for (int64_t i = 0; i < dim / 2; ++i) {
                            const double theta = double(t) * std::pow(base, -2.0 * double(i) / double(dim));
                            double& x0 = (*r)[h * dim + i];
                            double& x1 = (*r)[h * dim + i + dim / 2];
                            const double a0 = x0, a1 = x1;
                            x0 = a0 * std::cos(theta) - a1 * std::sin(theta);
                            x1 = a0 * std::sin(theta) + a1 * std::cos(theta);
                        }
            } else {
                q[t] = matvec(W("attn_q.weight"), x[t]);
                k[t] = matvec(W("attn_k.weight"), x[t]);
                v[t] = matvec(W("attn_v.weight"), x[t]);
                add_bias(q[t], f, p + "attn_q.bias");
                add_bias(k[t], f, p + "attn_k.bias");
                add_bias(v[t], f, p + "attn_v.bias");
            }
        }
        std::vector<Vec> next(n);
        for (size_t t = 0; t < n; ++t) {
            // Bidirectional: every token attends to all n.
            Vec attn(static_cast<size_t>(n_embd), 0.0);
            for (int64_t h = 0; h < n_head; ++h) {
                Vec s(n);
                double mx = -1e300, sum = 0;
                for (size_t u = 0; u < n; ++u) {
                    double d = 0;
                    for (int64_t i = 0; i < dim; ++i) d += q[t][h * dim + i] * k[u][h * dim + i];
                    s[u] = d / std::sqrt(double(dim));
                    mx = std::max(mx, s[u]);
                }
                for (double& e : s) sum += (e = std::exp(e - mx));
                for (size_t u = 0; u < n; ++u)
                    for (int64_t i = 0; i < dim; ++i) attn[h * dim + i] += s[u] / sum * v[u][h * dim + i];
            }
            Vec o = matvec(W("attn_output.weight"), attn);
            add_bias(o, f, p + "attn_output.bias");
            add(o, x[t]);
            const Vec h1 = layernorm(o, W("attn_output_norm.weight"), W("attn_output_norm.bias"), eps);
            Vec act;
            if (nomic) {
                const Vec g = matvec(W("ffn_gate.weight"), h1), u = matvec(W("ffn_up.weight"), h1);
                for (size_t i = 0; i < g.size(); ++i) act.push_back(g[i] / (1 + std::exp(-g[i])) * u[i]);
            } else {
                act = matvec(W("ffn_up.weight"), h1);
                add_bias(act, f, p + "ffn_up.bias");
                for (double& e : act) e = 0.5 * e * (1 + std::erf(e / std::sqrt(2.0)));
            }
            Vec d = matvec(W("ffn_down.weight"), act);
            add_bias(d, f, p + "ffn_down.bias");
            add(d, h1);
            next[t] = layernorm(d, W("layer_output_norm.weight"), W("layer_output_norm.bias"), eps);
        }
        x = std::move(next);
    }
    return x;
}

// Largest |engine - reference| over all tokens, relative to the largest |reference|.
double relative_error(const std::vector<float>& got, const std::vector<Vec>& expected) {
    double worst = 0, scale = 0;
    size_t i = 0;
    for (const Vec& row : expected)
        for (double e : row) {
            worst = std::max(worst, std::abs(double(got[i++]) - e));
            scale = std::max(scale, std::abs(e));
        }
    return worst / scale;
}

struct Loaded {
    test::ScratchDir dir;
    std::shared_ptr<const gguf::File> file;
    BertModel model;
};

std::unique_ptr<Loaded> synthetic(const std::string& shape, const std::string& quant) {
    auto l = std::make_unique<Loaded>();
    const std::string path = l->dir.file("model.gguf");
    write_synthetic_model(find_synthetic_shape(shape), quant, 9, path);
    l->file = std::make_shared<const gguf::File>(gguf::File::open(path));
    l->model = BertModel::load(l->file);
    return l;
}

// repack: the matrices in the CPU kernels' interleaved layouts, as the daemon loads them.
void check_encoder(const std::string& shape, const std::string& quant, double bound, bool repack = false) {
    CAPTURE(shape);
    CAPTURE(quant);
    CAPTURE(repack);
    const auto loaded = synthetic(shape, quant);
    if (repack) {
        // Two blocks of q, k, v, output, up, down, and nomic-bert's gate.
        const int64_t matrices = 2 * (loaded->model.config.rotary ? 7 : 6);
        const bool has_kernel = kernels::interleaved_kernels(kernels::detected_isa(), GgmlType::Q8_0).kernel != nullptr;
        CHECK(repack_for_cpu(loaded->model).matrices == (has_kernel ? matrices : 0));
    }
    const std::vector<int32_t> tokens = {101, 300, 17, 42, 511, 260, 99, 102};
    const std::vector<Vec> expected = reference_hidden(*loaded->file, tokens);
    BertEncoder encoder(loaded->model, 64, std::make_shared<ThreadPool>(2));
    const std::vector<float> got = encoder.hidden_states(tokens);
    REQUIRE(got.size() == tokens.size() * static_cast<size_t>(loaded->model.config.n_embd));
    const double error = relative_error(got, expected);
    MESSAGE(shape << " " << quant << ": worst relative error of the hidden states " << error << " (bound " << bound << ")");
    CHECK(error < bound);

    // Pooled as the metadata says (tiny-bert: CLS, tiny-nomic-bert: mean), normalised.
    Vec pooled(expected[0].size(), 0.0);
    if (loaded->model.config.pooling == Pooling::Cls) pooled = expected[0];
    else
        for (const Vec& row : expected)
            for (size_t i = 0; i < row.size(); ++i) pooled[i] += row[i] / double(expected.size());
    double norm = 0;
    for (double v : pooled) norm += v * v;
    const std::vector<float> embedding = encoder.embed(tokens);
    double worst = 0;
    for (size_t i = 0; i < pooled.size(); ++i) worst = std::max(worst, std::abs(embedding[i] - pooled[i] / std::sqrt(norm)));
    CHECK(worst < bound);
}

}  // namespace

TEST_SUITE_BEGIN("unit");

// F32 weights: only float32 rounding separates the encoder from the float64 reference (measured
// 2e-7 to 4e-7). The bound is tight enough to tell GELU's tanh form from the exact one (6e-6).
TEST_CASE("bert encoder: hidden states and CLS pooling equal the float64 reference (F32)") { check_encoder("tiny-bert", "F32", 2e-6); }
TEST_CASE("nomic-bert encoder: rotary positions, SwiGLU, mean pooling equal the float64 reference (F32)") {
    check_encoder("tiny-nomic-bert", "F32", 2e-6);
}
// Quantized weights: the reference uses the same dequantized weights; the rest is the kernels'
// 8-bit activations (measured 6e-4 to 7e-4).
TEST_CASE("bert encoders with quantized weights stay within the 8-bit activation bound") {
    check_encoder("tiny-bert", "Q8_0", 5e-3);
    check_encoder("tiny-bert", "F16", 2e-6);  // float activations
    check_encoder("tiny-nomic-bert", "Q4_0", 5e-3);
    check_encoder("tiny-bert", "Q8_0", 5e-3, /*repack=*/true);
    check_encoder("tiny-nomic-bert", "Q8_0", 5e-3, /*repack=*/true);
}

TEST_CASE("bert encoder: attention runs both ways, so a later token changes an earlier one's state") {
    const auto loaded = synthetic("tiny-bert", "F32");
    BertEncoder encoder(loaded->model, 64, std::make_shared<ThreadPool>(2));
    const std::vector<float> a = encoder.hidden_states(std::vector<int32_t>{101, 300, 17, 102});
    const std::vector<float> b = encoder.hidden_states(std::vector<int32_t>{101, 300, 18, 102});
    const auto width = static_cast<size_t>(loaded->model.config.n_embd);
    double first_token_change = 0;
    for (size_t i = 0; i < width; ++i) first_token_change = std::max(first_token_change, double(std::abs(a[i] - b[i])));
    CHECK(first_token_change > 1e-3);
}

TEST_CASE("bert encoder: inputs it cannot run are refused with a clear error") {
    const auto loaded = synthetic("tiny-bert", "F32");
    BertEncoder encoder(loaded->model, 1 << 20, std::make_shared<ThreadPool>(1));
    CHECK(encoder.n_ctx() == 128);  // the position embeddings' rows: the trained context
    CHECK_THROWS_AS(encoder.hidden_states(std::vector<int32_t>{}), std::invalid_argument);
    CHECK_THROWS_AS(encoder.hidden_states(std::vector<int32_t>(129, 5)), std::invalid_argument);
    CHECK_THROWS_AS(encoder.hidden_states(std::vector<int32_t>{101, 512}), std::out_of_range);
    CHECK_THROWS_AS(encoder.hidden_states(std::vector<int32_t>{-1}), std::out_of_range);
    encoder.hidden_states(std::vector<int32_t>(128, 5));  // the whole context is fine
}

TEST_CASE("bert files: the decoder refuses them by name, the encoder's loader names what is missing") {
    const auto loaded = synthetic("tiny-bert", "F32");
    try {
        Model::load(loaded->file);
        FAIL("a bert file loaded as a decoder");
    } catch (const gguf::FormatError& e) {
        CHECK(std::string(e.what()).find("embedding model") != std::string::npos);
    }
    // The same file without one of its tensors.
    gguf::Writer w;
    for (const auto& [key, value] : loaded->file->metadata().entries()) w.set(key, value);
    for (const gguf::TensorInfo& t : loaded->file->tensors())
        if (t.name != "blk.1.ffn_down.bias") w.add_tensor(t.name, t.type, t.shape, std::vector<uint8_t>(t.data, t.data + t.size_bytes));
    const std::string path = loaded->dir.file("missing.gguf");
    w.write_file(path);
    try {
        BertModel::load(std::make_shared<const gguf::File>(gguf::File::open(path)));
        FAIL("a bert file without blk.1.ffn_down.bias loaded");
    } catch (const gguf::FormatError& e) {
        CHECK(std::string(e.what()).find("blk.1.ffn_down.bias") != std::string::npos);
    }
}

TEST_SUITE_END();

}  // namespace test_bert_encoder
