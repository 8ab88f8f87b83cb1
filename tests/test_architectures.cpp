// Each architecture's forward pass against a plain float64 forward pass written independently
// here, on synthetic models: exact-weight (F32) files and quantized files.
#include <doctest/doctest.h>

#include <cmath>
#include <set>

#include "llm/embedding.h"
#include "llm/layer_tensors.h"
#include "llm/model.h"
#include "llm/quant/quantize.h"
#include "llm/synthetic_model.h"
#include "llm/transformer.h"
#include "llm/weight_repack.h"
#include "test_support.h"

namespace test_architectures {

using namespace rockllm;

namespace {

using Vec = std::vector<double>;

using Matrix = test::Matrix64;
using test::matvec;
using test::rows_of;

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
// router_margin: the smallest gap in router logits between the last expert picked and the first
// left out (a mixture of experts), where a smaller error would pick another expert.
std::vector<Vec> reference_logits(const gguf::File& f, const std::vector<int32_t>& tokens,
                                  std::vector<Vec>* hidden = nullptr, double* router_margin = nullptr) {
    const auto& meta = f.metadata();
    const std::string arch = meta.get<std::string>("general.architecture");
    const std::string a = arch + ".";
    const int64_t n_layer = meta.get<int64_t>(a + "block_count");
    const int64_t n_head = meta.get<int64_t>(a + "attention.head_count");
    const int64_t n_kv = meta.get<int64_t>(a + "attention.head_count_kv");
    const int64_t dim = meta.get<int64_t>(a + "attention.key_length");
    const double eps = meta.get<float>(a + "attention.layer_norm_rms_epsilon");
    const double base = meta.get<float>(a + "rope.freq_base");
    const bool neox = arch != "llama" && arch != "smollm3" && !arch.starts_with("granite");
    // SmolLM3: every fourth layer has no RoPE.
    const auto rotates = [&](int64_t l) { return arch != "smollm3" || (l + 1) % 4 != 0; };
    const bool gemma = arch == "gemma2" || arch == "gemma3";
    // OLMo 2: no norms before attention and FFN, norms after them; OLMo 2 and OLMoE normalise all
    // of q and k at once, and OLMoE keeps its experts' router weights as the softmax gives them.
    const bool olmo2 = arch == "olmo2", olmo = olmo2 || arch == "olmoe";
    const bool post_norms = gemma || olmo2;
    const double attn_cap = meta.get_or<float>(a + "attn_logit_softcapping", 0.0f);
    // Granite's multipliers.
    const double embedding_scale = meta.get_or<float>(a + "embedding_scale", 1.0f);
    const double residual_scale = meta.get_or<float>(a + "residual_scale", 1.0f);
    const double logit_scale = meta.get_or<float>(a + "logit_scale", 1.0f);
    const double attention_scale = meta.get_or<float>(a + "attention.scale", 0.0f);
    const double final_cap = meta.get_or<float>(a + "final_logit_softcapping", 0.0f);
    const int64_t window = meta.get_or<int64_t>(a + "attention.sliding_window", 0);
    // Which layers use the sliding window: Gemma 2 every other one, Gemma 3 five of six, Phi-3 all.
    auto local = [&](int64_t l) {
        if (window == 0) return false;
        if (arch == "gemma2") return l % 2 == 0;
        if (arch == "gemma3") return l % 6 != 5;
        return arch == "phi3";
    };

    const Matrix embd = test::read_matrix64(f, "token_embd.weight");
    const Matrix out_norm = test::read_matrix64(f, "output_norm.weight");
    const Matrix output = f.find_tensor("output.weight") ? test::read_matrix64(f, "output.weight") : embd;
    // A mixture of experts: the router, and the experts' matrices stacked.
    const int64_t n_expert = meta.get_or<int64_t>(a + "expert_count", 0);
    const int64_t n_used = meta.get_or<int64_t>(a + "expert_used_count", 0);
    struct Layer {
        Matrix attn_norm, wq, wk, wv, wo, ffn_norm, gate, up, down, bq, bk, bv, q_norm, k_norm, post_attn, post_ffn, router;
    };
    std::vector<Layer> layers;
    for (int64_t l = 0; l < n_layer; ++l) {
        const std::string p = "blk." + std::to_string(l) + ".";
        Layer L;
        if (!olmo2) L.attn_norm = test::read_matrix64(f, p + "attn_norm.weight");
        if (arch == "phi3") {
            const Matrix qkv = test::read_matrix64(f, p + "attn_qkv.weight");
            L.wq = rows_of(qkv, 0, n_head * dim);
            L.wk = rows_of(qkv, n_head * dim, n_kv * dim);
            L.wv = rows_of(qkv, (n_head + n_kv) * dim, n_kv * dim);
            const Matrix gate_up = test::read_matrix64(f, p + "ffn_up.weight");
            L.gate = rows_of(gate_up, 0, gate_up.rows / 2);
            L.up = rows_of(gate_up, gate_up.rows / 2, gate_up.rows / 2);
        } else {
            L.wq = test::read_matrix64(f, p + "attn_q.weight");
            L.wk = test::read_matrix64(f, p + "attn_k.weight");
            L.wv = test::read_matrix64(f, p + "attn_v.weight");
        }
        if (n_expert > 0) {
            L.router = test::read_matrix64(f, p + "ffn_gate_inp.weight");
            L.gate = test::read_matrix64(f, p + "ffn_gate_exps.weight");
            L.up = test::read_matrix64(f, p + "ffn_up_exps.weight");
            L.down = test::read_matrix64(f, p + "ffn_down_exps.weight");
        } else if (arch != "phi3") {
            L.gate = test::read_matrix64(f, p + "ffn_gate.weight");
            L.up = test::read_matrix64(f, p + "ffn_up.weight");
        }
        L.wo = test::read_matrix64(f, p + "attn_output.weight");
        if (!olmo2) L.ffn_norm = test::read_matrix64(f, p + "ffn_norm.weight");
        if (n_expert == 0) L.down = test::read_matrix64(f, p + "ffn_down.weight");
        if (post_norms) {
            L.post_attn = test::read_matrix64(f, p + "post_attention_norm.weight");
            L.post_ffn = test::read_matrix64(f, p + "post_ffw_norm.weight");
        }
        if (arch == "qwen2") {
            L.bq = test::read_matrix64(f, p + "attn_q.bias");
            L.bk = test::read_matrix64(f, p + "attn_k.bias");
            L.bv = test::read_matrix64(f, p + "attn_v.bias");
        }
        if (arch == "qwen3" || arch == "qwen3moe" || arch == "gemma3" || olmo) {
            L.q_norm = test::read_matrix64(f, p + "attn_q_norm.weight");
            L.k_norm = test::read_matrix64(f, p + "attn_k_norm.weight");
        }
        layers.push_back(std::move(L));
    }

    std::vector<std::vector<Vec>> keys(n_layer), values(n_layer);
    std::vector<Vec> all_logits;
    for (size_t pos = 0; pos < tokens.size(); ++pos) {
        Vec x(embd.row(tokens[pos]), embd.row(tokens[pos]) + embd.cols);
        if (gemma)
            for (double& v : x) v *= std::sqrt(double(embd.cols));
        for (double& v : x) v *= embedding_scale;
        for (int64_t l = 0; l < n_layer; ++l) {
            const Layer& L = layers[l];
            const Vec h = olmo2 ? x : rmsnorm(x, L.attn_norm.data.data(), eps);
            Vec q = matvec(L.wq, h), k = matvec(L.wk, h), v = matvec(L.wv, h);
            if (!L.bq.data.empty())
                for (size_t i = 0; i < q.size(); ++i) q[i] += L.bq.data[i];
            if (!L.bk.data.empty())
                for (size_t i = 0; i < k.size(); ++i) k[i] += L.bk.data[i], v[i] += L.bv.data[i];
            if (olmo) {
                q = rmsnorm(q, L.q_norm.data.data(), eps);
                k = rmsnorm(k, L.k_norm.data.data(), eps);
            } else if (!L.q_norm.data.empty()) {
                for (int64_t hd = 0; hd < n_head; ++hd) {
                    const Vec part = rmsnorm(Vec(&q[hd * dim], &q[hd * dim] + dim), L.q_norm.data.data(), eps);
                    std::copy(part.begin(), part.end(), &q[hd * dim]);
                }
                for (int64_t hd = 0; hd < n_kv; ++hd) {
                    const Vec part = rmsnorm(Vec(&k[hd * dim], &k[hd * dim] + dim), L.k_norm.data.data(), eps);
                    std::copy(part.begin(), part.end(), &k[hd * dim]);
                }
            }
            const double layer_base = arch == "gemma3" && local(l) ? 10000.0 : base;
            if (rotates(l)) {
                rope(q, n_head, dim, static_cast<int64_t>(pos), layer_base, neox);
                rope(k, n_kv, dim, static_cast<int64_t>(pos), layer_base, neox);
            }
            keys[l].push_back(k);
            values[l].push_back(v);
            Vec attn(static_cast<size_t>(n_head * dim), 0.0);
            for (int64_t hd = 0; hd < n_head; ++hd) {
                const int64_t kv = hd / (n_head / n_kv);
                // Positions this token may see: all before it, or the last `window` in a local layer.
                const size_t first = local(l) && pos + 1 > size_t(window) ? pos + 1 - window : 0;
                Vec w(pos + 1, -1e300);
                double mx = -1e300;
                for (size_t t = first; t <= pos; ++t) {
                    double s = 0;
                    for (int64_t i = 0; i < dim; ++i) s += q[hd * dim + i] * keys[l][t][kv * dim + i];
                    s *= attention_scale != 0 ? attention_scale : 1 / std::sqrt(double(dim));
                    if (attn_cap > 0) s = attn_cap * std::tanh(s / attn_cap);
                    w[t] = s;
                    mx = std::max(mx, w[t]);
                }
                double sum = 0;
                for (size_t t = first; t <= pos; ++t) sum += (w[t] = std::exp(w[t] - mx));
                for (size_t t = first; t <= pos; ++t)
                    for (int64_t i = 0; i < dim; ++i) attn[hd * dim + i] += w[t] / sum * values[l][t][kv * dim + i];
            }
            Vec o = matvec(L.wo, attn);
            if (post_norms) o = rmsnorm(o, L.post_attn.data.data(), eps);
            for (size_t i = 0; i < x.size(); ++i) x[i] += residual_scale * o[i];
            const Vec h2 = olmo2 ? x : rmsnorm(x, L.ffn_norm.data.data(), eps);
            const auto ffn = [&](const Matrix& gate, const Matrix& up, const Matrix& down) {
                const Vec g = matvec(gate, h2), u = matvec(up, h2);
                Vec act(g.size());
                for (size_t i = 0; i < g.size(); ++i) {
                    const double gated = gemma ? 0.5 * g[i] * (1 + std::tanh(std::sqrt(2 / M_PI) * (g[i] + 0.044715 * g[i] * g[i] * g[i])))
                                               : g[i] / (1.0 + std::exp(-g[i]));
                    act[i] = gated * u[i];
                }
                return matvec(down, act);
            };
            Vec d;
            if (n_expert == 0) {
                d = ffn(L.gate, L.up, L.down);
            } else {
                // The router's softmax; the n_used likeliest experts, their weights renormalised.
                Vec prob = matvec(L.router, h2);
                const double top = *std::max_element(prob.begin(), prob.end());
                double total = 0;
                for (double& v : prob) total += (v = std::exp(v - top));
                for (double& v : prob) v /= total;
                std::vector<int64_t> order(static_cast<size_t>(n_expert));
                for (int64_t e = 0; e < n_expert; ++e) order[e] = e;
                std::stable_sort(order.begin(), order.end(), [&](int64_t a1, int64_t b1) { return prob[a1] > prob[b1]; });
                if (router_margin) *router_margin = std::min(*router_margin, std::log(prob[order[n_used - 1]] / prob[order[n_used]]));
                double picked = 0;
                for (int64_t k = 0; k < n_used; ++k) picked += prob[order[k]];
                if (arch == "olmoe") picked = 1;
                d.assign(x.size(), 0.0);
                const int64_t ff_expert = L.gate.rows / n_expert;  // the expert tensors' own width
                for (int64_t k = 0; k < n_used; ++k) {
                    const int64_t e = order[k];
                    const Vec out = ffn(test::rows_of(L.gate, e * ff_expert, ff_expert), test::rows_of(L.up, e * ff_expert, ff_expert),
                                        test::rows_of(L.down, e * embd.cols, embd.cols));
                    for (size_t i = 0; i < d.size(); ++i) d[i] += prob[e] / picked * out[i];
                }
            }
            if (post_norms) d = rmsnorm(d, L.post_ffn.data.data(), eps);
            for (size_t i = 0; i < x.size(); ++i) x[i] += residual_scale * d[i];
        }
        const Vec normed = rmsnorm(x, out_norm.data.data(), eps);
        if (hidden) hidden->push_back(normed);
        Vec logits = matvec(output, normed);
        for (double& v : logits) v /= logit_scale;
        if (final_cap > 0)
            for (double& v : logits) v = final_cap * std::tanh(v / final_cap);
        all_logits.push_back(std::move(logits));
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
    double router_margin = 1e9;
    const auto expected = reference_logits(*file, tokens, nullptr, &router_margin);
    // A mixture of experts: no token sits so near the edge of its picked experts that the engine's
    // rounding could pick another one (which would be a different, not a wrong, answer). The
    // quantized engines' hidden states are ~1e-2 off the reference; the routing here keeps 0.04.
    if (model.config.n_expert > 0) {
        MESSAGE(shape << " " << quant << ": smallest router margin " << router_margin);
        REQUIRE(router_margin > (quant == "F32" ? 1e-3 : 0.02));
    }

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

TEST_SUITE_BEGIN("unit");

// F32 weights: only float32 rounding separates the engine from the float64 reference.
TEST_CASE("architecture llama: forward pass equals the float64 reference (F32)") { check_architecture("tiny-llama", "F32", 1e-3); }
TEST_CASE("architecture qwen2: forward pass equals the float64 reference (F32)") { check_architecture("tiny-qwen2", "F32", 1e-3); }
TEST_CASE("architecture qwen3: forward pass equals the float64 reference (F32)") { check_architecture("tiny-qwen3", "F32", 1e-3); }
TEST_CASE("architecture gemma2: forward pass equals the float64 reference (F32)") { check_architecture("tiny-gemma2", "F32", 1e-3); }
TEST_CASE("architecture gemma3: forward pass equals the float64 reference (F32)") { check_architecture("tiny-gemma3", "F32", 1e-3); }
TEST_CASE("architecture phi3: forward pass equals the float64 reference (F32)") { check_architecture("tiny-phi3", "F32", 1e-3); }
TEST_CASE("architecture qwen3moe: forward pass with routed experts equals the float64 reference (F32)") {
    check_architecture("tiny-qwen3moe", "F32", 1e-3);
}
// Granite's small attention multiplier makes attention nearly uniform, so a wrong RoPE layout
// moves its logits by only 2e-4: the bound is tighter to catch that.
TEST_CASE("architecture granite: forward pass with Granite's multipliers equals the float64 reference (F32)") {
    check_architecture("tiny-granite", "F32", 1e-5);
}
TEST_CASE("architecture granitemoe: forward pass with multipliers and experts equals the float64 reference (F32)") {
    check_architecture("tiny-granitemoe", "F32", 1e-3);
}
TEST_CASE("architecture olmo2: forward pass with norms after the blocks equals the float64 reference (F32)") {
    check_architecture("tiny-olmo2", "F32", 1e-3);
}
TEST_CASE("architecture olmoe: forward pass with unnormalised expert weights equals the float64 reference (F32)") {
    check_architecture("tiny-olmoe", "F32", 1e-3);
}
TEST_CASE("architecture exaone: forward pass equals the float64 reference (F32)") { check_architecture("tiny-exaone", "F32", 1e-3); }
TEST_CASE("architecture smollm3: forward pass with a layer without RoPE equals the float64 reference (F32)") {
    check_architecture("tiny-smollm3", "F32", 1e-3);
}

// Quantized weights: the reference uses the same dequantized weights, so the remaining error is the
// engine's 8-bit activations (Q8_0 blocks for Q8_0/Q5_0 weights, Q8_K for the K formats). Measured
// on these models: 1.3e-2 to 2.8e-2 of the largest logit; the bound for every quantized type is 5e-2.
// F16 weights use float activations, so they keep the float bound.
TEST_CASE("layer table: every matrix of a block comes from one tensor of the file and belongs to one matmul group") {
    using L = LayerWeights;
    const std::vector<WeightMatrix L::*> matrices = {&L::wq, &L::wk, &L::wv, &L::wo, &L::ffn_gate, &L::ffn_up, &L::ffn_down};
    for (const SyntheticShape& shape : synthetic_shapes()) {
        if (is_encoder_architecture(shape.architecture)) continue;  // test_bert_encoder.cpp
        CAPTURE(shape.name);
        ModelConfig c;
        c.traits = *find_architecture(shape.architecture);
        c.n_embd = shape.n_embd, c.n_head = shape.n_head, c.n_head_kv = shape.n_head_kv, c.head_dim = shape.head_dim, c.n_ff = shape.n_ff;
        c.n_expert = shape.n_expert, c.n_expert_used = shape.n_expert_used, c.n_ff_expert = shape.n_ff_expert;
        for (WeightMatrix L::*m : matrices) {
            // A mixture's FFN matrices are its experts', outside the groups (the next check).
            if (c.traits.experts && (m == &L::ffn_gate || m == &L::ffn_up || m == &L::ffn_down)) continue;
            int from_tensors = 0, from_groups = 0;
            for (const LayerTensor& t : layer_tensors(c))
                for (WeightMatrix L::*part : t.parts) from_tensors += part == m;
            for (const MatmulGroup& g : matmul_groups())
                for (WeightMatrix L::*part : g.parts) from_groups += part == m;
            CHECK(from_tensors == 1);
            CHECK(from_groups == 1);
        }
        for (const LayerTensor& t : layer_tensors(c)) {
            CAPTURE(t.name);
            int64_t rows = 0;
            for (int64_t r : t.part_rows) rows += r;
            CHECK(t.parts.size() == t.part_rows.size());
            if (!t.experts) CHECK((t.is_matrix() ? rows : 1) == t.rows);
        }
        int expert_tensors = 0;
        for (const LayerTensor& t : layer_tensors(c)) expert_tensors += t.experts != nullptr;
        CHECK(expert_tensors == (c.traits.experts ? 3 : 0));
    }
}

TEST_CASE("qwen3moe: experts repacked for the CPU kernels give the logits of the file's layout, in batched prefill and decode") {
    test::ScratchDir dir;
    const std::string path = dir.file("moe.gguf");
    write_synthetic_model(find_synthetic_shape("tiny-qwen3moe"), "Q8_0", 7, path);
    auto file = std::make_shared<const gguf::File>(gguf::File::open(path));
    const Model plain = Model::load(file);
    Model repacked = Model::load(file);
    const RepackReport report = repack_for_cpu(repacked);
    const bool has_kernel = kernels::interleaved_kernels(kernels::detected_isa(), GgmlType::Q8_0).kernel != nullptr;
    // Per layer q, k, v, output and 3 x 8 experts (the router is F32), and the (tied) output head.
    CHECK(report.matrices == (has_kernel ? 2 * (4 + 3 * 8) + 1 : 0));
    TransformerOptions options;
    options.n_ctx = 32;
    options.n_threads = 2;
    Transformer a(plain, options), b(repacked, options);
    const std::vector<int32_t> prompt = {1, 300, 17, 42, 511, 260};
    const auto first = a.forward(prompt, 0);
    const std::vector<float> expected(first.begin(), first.end());
    const auto got = b.forward(prompt, 0);
    double worst = 0, scale = 0;
    for (size_t i = 0; i < expected.size(); ++i) worst = std::max(worst, double(std::abs(got[i] - expected[i]))), scale = std::max(scale, double(std::abs(expected[i])));
    CHECK(worst / scale < 1e-4);
    const int32_t next = 99;
    const auto decode_a = a.forward(next, 6);
    const std::vector<float> expected_decode(decode_a.begin(), decode_a.end());
    const auto decode_b = b.forward(next, 6);
    worst = 0;
    for (size_t i = 0; i < expected_decode.size(); ++i) worst = std::max(worst, double(std::abs(decode_b[i] - expected_decode[i])));
    CHECK(worst / scale < 1e-4);
}

TEST_CASE("smollm3: a context shift moves the keys of a layer without RoPE as they are, and re-rotates the others") {
    test::ScratchDir dir;
    const std::string path = dir.file("smollm3.gguf");
    write_synthetic_model(find_synthetic_shape("tiny-smollm3"), "F32", 7, path);
    const Model model = Model::load(std::make_shared<const gguf::File>(gguf::File::open(path)));
    REQUIRE(!model.config.uses_rope(3));
    REQUIRE(model.config.uses_rope(0));
    TransformerOptions options;
    options.n_ctx = 32;
    options.n_threads = 1;
    options.kv_type = GgmlType::F32;
    Transformer t(model, options);
    const std::vector<int32_t> tokens = {1, 300, 17, 42, 511, 260, 99, 5, 77, 123, 321, 222};
    t.forward(tokens, 0);
    const int64_t kv_dim = model.config.kv_dim();
    const auto key = [&](int64_t layer, int64_t pos) {
        std::vector<float> k(static_cast<size_t>(kv_dim));
        t.kv_cache().load_key(layer, pos, k.data());
        return k;
    };
    std::vector<std::vector<float>> nope_before, rope_before;
    for (int64_t p = 6; p < 12; ++p) nope_before.push_back(key(3, p)), rope_before.push_back(key(0, p));
    t.shift_context(2, 4, 12);
    for (int64_t p = 2; p < 8; ++p) {
        CAPTURE(p);
        CHECK(key(3, p) == nope_before[static_cast<size_t>(p - 2)]);
        CHECK(key(0, p) != rope_before[static_cast<size_t>(p - 2)]);
    }
}

TEST_CASE("architectures with quantized weights stay within the 8-bit activation bound") {
    check_architecture("tiny-llama", "F16", 1e-3);
    check_architecture("tiny-llama", "Q8_0", 5e-2);
    check_architecture("tiny-qwen2", "Q4_K_M", 5e-2);
    check_architecture("tiny-qwen3", "Q6_K", 5e-2);
    check_architecture("tiny-llama", "Q4_0", 5e-2);
    check_architecture("tiny-gemma3", "Q8_0", 5e-2);
    check_architecture("tiny-phi3", "Q4_K_M", 5e-2);
    check_architecture("tiny-qwen3moe", "Q8_0", 5e-2);
    check_architecture("tiny-qwen3moe", "Q4_K_M", 5e-2);
    check_architecture("tiny-granite", "Q4_K_M", 5e-2);
    check_architecture("tiny-granitemoe", "Q8_0", 5e-2);
    check_architecture("tiny-olmo2", "Q4_K_M", 5e-2);
    check_architecture("tiny-olmoe", "Q8_0", 5e-2);
    check_architecture("tiny-smollm3", "Q4_K_M", 5e-2);
    // Mixed precision: q, k, v, gate, up and down of one layer in different types (8-bit
    // activations for the quantized ones, float for F16).
    check_architecture("tiny-llama", "MIXED", 5e-2);
    check_architecture("tiny-phi3", "MIXED", 5e-2);
    check_architecture("tiny-granitemoe", "MIXED", 5e-2);
    // The mix really is mixed: the first layer's matrices come in several types.
    test::ScratchDir dir;
    write_synthetic_model(find_synthetic_shape("tiny-llama"), "MIXED", 7, dir.file("mixed.gguf"));
    const gguf::File mixed = gguf::File::open(dir.file("mixed.gguf"));
    std::set<GgmlType> types;
    for (const gguf::TensorInfo& t : mixed.tensors())
        if (t.name.starts_with("blk.0.") && t.shape.size() == 2) types.insert(t.type);
    CHECK(types.size() >= 5);
}

TEST_CASE("embeddings: hidden states and mean/last/CLS pooling equal the float64 reference") {
    test::ScratchDir dir;
    const std::string path = dir.file("model.gguf");
    write_synthetic_model(find_synthetic_shape("tiny-qwen2"), "F32", 3, path);
    auto file = std::make_shared<const gguf::File>(gguf::File::open(path));
    const Model model = Model::load(file);
    CHECK(pooling_for(*file) == Pooling::Mean);  // no pooling_type key: decoder models pool by mean

    const std::vector<int32_t> tokens = {1, 40, 300, 7, 99};
    std::vector<Vec> hidden;
    reference_logits(*file, tokens, &hidden);

    TransformerOptions options;
    options.n_ctx = 16;
    options.n_batch = 2;  // several chunks
    options.kv_type = GgmlType::F32;
    Transformer transformer(model, options);
    auto pooled_reference = [&](Pooling pooling) {
        Vec v(hidden[0].size(), 0.0);
        if (pooling == Pooling::Cls) v = hidden.front();
        if (pooling == Pooling::Last) v = hidden.back();
        if (pooling == Pooling::Mean)
            for (const Vec& h : hidden)
                for (size_t i = 0; i < v.size(); ++i) v[i] += h[i] / double(hidden.size());
        double norm = 0;
        for (double x : v) norm += x * x;
        for (double& x : v) x /= std::sqrt(norm);
        return v;
    };
    for (Pooling pooling : {Pooling::Mean, Pooling::Cls, Pooling::Last}) {
        const std::vector<float> got = embed(transformer, tokens, pooling);
        const Vec expected = pooled_reference(pooling);
        REQUIRE(got.size() == expected.size());
        double worst = 0, length = 0;
        for (size_t i = 0; i < got.size(); ++i) {
            worst = std::max(worst, std::abs(got[i] - expected[i]));
            length += double(got[i]) * got[i];
        }
        CHECK(worst < 1e-5);
        CHECK(std::abs(length - 1.0) < 1e-5);
    }
    CHECK_THROWS_AS(embed(transformer, std::vector<int32_t>{}, Pooling::Mean), std::invalid_argument);
}

TEST_SUITE_END();

}  // namespace test_architectures
