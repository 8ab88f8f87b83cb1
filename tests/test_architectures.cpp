// Each architecture's forward pass against a plain float64 forward pass written independently
// here, on synthetic models: exact-weight (F32) files and quantized files.
#include <doctest/doctest.h>

#include <cmath>

#include "llm/model.h"
#include "llm/quant/quantize.h"
#include "llm/synthetic_model.h"
#include "llm/transformer.h"
#include "test_support.h"

using namespace rockllm;

namespace {

using Vec = std::vector<double>;

// A tensor of the file as float64 rows (dequantized once).
struct Matrix {
    int64_t cols = 0, rows = 0;
    Vec data;
    const double* row(int64_t r) const { return &data[r * cols]; }
};

Matrix read_tensor(const gguf::File& f, const std::string& name) {
    const gguf::TensorInfo* t = f.find_tensor(name);
    REQUIRE_MESSAGE(t != nullptr, name);
    Matrix m;
    m.cols = t->shape[0];
    m.rows = t->shape.size() > 1 ? t->shape[1] : 1;
    std::vector<float> tmp(static_cast<size_t>(m.cols * m.rows));
    const size_t row_bytes = t->size_bytes / static_cast<size_t>(m.rows);
    for (int64_t r = 0; r < m.rows; ++r) quant::dequantize_row(t->type, t->data + r * row_bytes, &tmp[r * m.cols], m.cols);
    m.data.assign(tmp.begin(), tmp.end());
    return m;
}

Vec matvec(const Matrix& w, const Vec& x) {
    Vec y(static_cast<size_t>(w.rows));
    for (int64_t r = 0; r < w.rows; ++r) {
        double s = 0;
        for (int64_t i = 0; i < w.cols; ++i) s += w.row(r)[i] * x[i];
        y[r] = s;
    }
    return y;
}

Vec rmsnorm(const Vec& x, const double* w, double eps) {
    double ss = 0;
    for (double v : x) ss += v * v;
    const double scale = 1.0 / std::sqrt(ss / double(x.size()) + eps);
    Vec y(x.size());
    for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * scale * w[i];
    return y;
}

// Rotates each head: pairs (2i, 2i+1) for llama, (i, i + d/2) for the NeoX layout.
void rope(Vec& x, int64_t heads, int64_t dim, int64_t pos, double base, bool neox) {
    for (int64_t h = 0; h < heads; ++h) {
        double* v = &x[h * dim];
        for (int64_t i = 0; i < dim / 2; ++i) {
            const double theta = pos * std::pow(base, -2.0 * i / dim);
            const int64_t a = neox ? i : 2 * i, b = neox ? i + dim / 2 : 2 * i + 1;
            const double x0 = v[a], x1 = v[b];
            v[a] = x0 * std::cos(theta) - x1 * std::sin(theta);
            v[b] = x0 * std::sin(theta) + x1 * std::cos(theta);
        }
    }
}

// Logits after each token of `tokens`, computed in float64 from the file's (dequantized) weights.
std::vector<Vec> reference_logits(const gguf::File& f, const std::vector<int32_t>& tokens) {
    const auto& meta = f.metadata();
    const std::string arch = meta.get<std::string>("general.architecture");
    const std::string a = arch + ".";
    const int64_t n_layer = meta.get<int64_t>(a + "block_count");
    const int64_t n_head = meta.get<int64_t>(a + "attention.head_count");
    const int64_t n_kv = meta.get<int64_t>(a + "attention.head_count_kv");
    const int64_t dim = meta.get<int64_t>(a + "attention.key_length");
    const double eps = meta.get<float>(a + "attention.layer_norm_rms_epsilon");
    const double base = meta.get<float>(a + "rope.freq_base");
    const bool neox = arch != "llama";

    const Matrix embd = read_tensor(f, "token_embd.weight");
    const Matrix out_norm = read_tensor(f, "output_norm.weight");
    const Matrix output = f.find_tensor("output.weight") ? read_tensor(f, "output.weight") : embd;
    struct Layer {
        Matrix attn_norm, wq, wk, wv, wo, ffn_norm, gate, up, down, bq, bk, bv, q_norm, k_norm;
    };
    std::vector<Layer> layers;
    for (int64_t l = 0; l < n_layer; ++l) {
        const std::string p = "blk." + std::to_string(l) + ".";
        Layer L{read_tensor(f, p + "attn_norm.weight"), read_tensor(f, p + "attn_q.weight"),
                read_tensor(f, p + "attn_k.weight"),    read_tensor(f, p + "attn_v.weight"),
                read_tensor(f, p + "attn_output.weight"), read_tensor(f, p + "ffn_norm.weight"),
                read_tensor(f, p + "ffn_gate.weight"),  read_tensor(f, p + "ffn_up.weight"),
                read_tensor(f, p + "ffn_down.weight"),  {}, {}, {}, {}, {}};
        if (arch == "qwen2") {
            L.bq = read_tensor(f, p + "attn_q.bias");
            L.bk = read_tensor(f, p + "attn_k.bias");
            L.bv = read_tensor(f, p + "attn_v.bias");
        }
        if (arch == "qwen3") {
            L.q_norm = read_tensor(f, p + "attn_q_norm.weight");
            L.k_norm = read_tensor(f, p + "attn_k_norm.weight");
        }
        layers.push_back(std::move(L));
    }

    std::vector<std::vector<Vec>> keys(n_layer), values(n_layer);
    std::vector<Vec> all_logits;
    for (size_t pos = 0; pos < tokens.size(); ++pos) {
        Vec x(embd.row(tokens[pos]), embd.row(tokens[pos]) + embd.cols);
        for (int64_t l = 0; l < n_layer; ++l) {
            const Layer& L = layers[l];
            const Vec h = rmsnorm(x, L.attn_norm.data.data(), eps);
            Vec q = matvec(L.wq, h), k = matvec(L.wk, h), v = matvec(L.wv, h);
            if (!L.bq.data.empty())
                for (size_t i = 0; i < q.size(); ++i) q[i] += L.bq.data[i];
            if (!L.bk.data.empty())
                for (size_t i = 0; i < k.size(); ++i) k[i] += L.bk.data[i], v[i] += L.bv.data[i];
            if (!L.q_norm.data.empty()) {
                for (int64_t hd = 0; hd < n_head; ++hd) {
                    const Vec part = rmsnorm(Vec(&q[hd * dim], &q[hd * dim] + dim), L.q_norm.data.data(), eps);
                    std::copy(part.begin(), part.end(), &q[hd * dim]);
                }
                for (int64_t hd = 0; hd < n_kv; ++hd) {
                    const Vec part = rmsnorm(Vec(&k[hd * dim], &k[hd * dim] + dim), L.k_norm.data.data(), eps);
                    std::copy(part.begin(), part.end(), &k[hd * dim]);
                }
            }
            rope(q, n_head, dim, static_cast<int64_t>(pos), base, neox);
            rope(k, n_kv, dim, static_cast<int64_t>(pos), base, neox);
            keys[l].push_back(k);
            values[l].push_back(v);
            Vec attn(static_cast<size_t>(n_head * dim), 0.0);
            for (int64_t hd = 0; hd < n_head; ++hd) {
                const int64_t kv = hd / (n_head / n_kv);
                Vec w(pos + 1);
                double mx = -1e300;
                for (size_t t = 0; t <= pos; ++t) {
                    double s = 0;
                    for (int64_t i = 0; i < dim; ++i) s += q[hd * dim + i] * keys[l][t][kv * dim + i];
                    w[t] = s / std::sqrt(double(dim));
                    mx = std::max(mx, w[t]);
                }
                double sum = 0;
                for (double& e : w) sum += (e = std::exp(e - mx));
                for (size_t t = 0; t <= pos; ++t)
                    for (int64_t i = 0; i < dim; ++i) attn[hd * dim + i] += w[t] / sum * values[l][t][kv * dim + i];
            }
            const Vec o = matvec(L.wo, attn);
            for (size_t i = 0; i < x.size(); ++i) x[i] += o[i];
            const Vec h2 = rmsnorm(x, L.ffn_norm.data.data(), eps);
            const Vec g = matvec(L.gate, h2), u = matvec(L.up, h2);
            Vec act(g.size());
            for (size_t i = 0; i < g.size(); ++i) act[i] = g[i] / (1.0 + std::exp(-g[i])) * u[i];
            const Vec d = matvec(L.down, act);
            for (size_t i = 0; i < x.size(); ++i) x[i] += d[i];
        }
        all_logits.push_back(matvec(output, rmsnorm(x, out_norm.data.data(), eps)));
    }
    return all_logits;
}

// Largest |engine - reference| over a logits row, relative to the row's largest |reference|.
double relative_error(std::span<const float> got, const Vec& expected) {
    double worst = 0, scale = 0;
    for (size_t i = 0; i < expected.size(); ++i) {
        worst = std::max(worst, std::abs(double(got[i]) - expected[i]));
        scale = std::max(scale, std::abs(expected[i]));
    }
    return worst / scale;
}

void check_architecture(const std::string& shape, const std::string& quant, double bound) {
    CAPTURE(shape);
    CAPTURE(quant);
    test::ScratchDir dir;
    const std::string path = dir.file("model.gguf");
    write_synthetic_model(find_synthetic_shape(shape), quant, 7, path);
    auto file = std::make_shared<const gguf::File>(gguf::File::open(path));
    const Model model = Model::load(file);
    CHECK(model.config.architecture == find_synthetic_shape(shape).architecture);

    const std::vector<int32_t> tokens = {1, 300, 17, 42, 511, 260, 99, 5};
    const auto expected = reference_logits(*file, tokens);

    // Token by token (the decode path) ...
    TransformerOptions options;
    options.n_ctx = 32;
    options.n_threads = 2;
    options.kv_type = GgmlType::F32;
    Transformer one_by_one(model, options);
    double worst = 0;
    for (size_t p = 0; p < tokens.size(); ++p)
        worst = std::max(worst, relative_error(one_by_one.forward(tokens[p], static_cast<int64_t>(p)), expected[p]));
    // ... and the whole prompt as one batch (the prefill path), after a first half.
    Transformer batched(model, options);
    batched.forward(std::span(tokens).first(3), 0);
    worst = std::max(worst, relative_error(batched.forward(std::span(tokens).subspan(3), 3), expected.back()));
    MESSAGE(shape << " " << quant << ": worst relative logit error " << worst << " (bound " << bound << ")");
    CHECK(worst < bound);
}

}  // namespace

// F32 weights: only float32 rounding separates the engine from the float64 reference.
TEST_CASE("architecture llama: forward pass equals the float64 reference (F32)") { check_architecture("tiny-llama", "F32", 1e-3); }
TEST_CASE("architecture qwen2: forward pass equals the float64 reference (F32)") { check_architecture("tiny-qwen2", "F32", 1e-3); }
TEST_CASE("architecture qwen3: forward pass equals the float64 reference (F32)") { check_architecture("tiny-qwen3", "F32", 1e-3); }

// Quantized weights: the reference uses the same dequantized weights, so the remaining error is the
// engine's 8-bit activations (Q8_0 blocks for Q8_0/Q5_0 weights, Q8_K for the K formats) and F16
// weights' float32 dot products.
TEST_CASE("architectures with quantized weights stay within the 8-bit activation bound") {
    check_architecture("tiny-llama", "F16", 1e-3);
    check_architecture("tiny-llama", "Q8_0", 3e-2);
    check_architecture("tiny-qwen2", "Q4_K_M", 3e-2);
    check_architecture("tiny-qwen3", "Q6_K", 3e-2);
    check_architecture("tiny-llama", "Q4_0", 3e-2);
}
