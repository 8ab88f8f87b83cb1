#include "bert_encoder.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace rockllm {

namespace {

// (x - mean) / sqrt(variance + eps) * weight + bias, in place.
void layer_norm(float* x, const std::vector<float>& weight, const std::vector<float>& bias, int64_t n, float eps) {
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += x[i];
    const auto mean = static_cast<float>(sum / static_cast<double>(n));
    double squares = 0;
    for (int64_t i = 0; i < n; ++i) squares += double(x[i] - mean) * (x[i] - mean);
    const auto scale = static_cast<float>(1.0 / std::sqrt(squares / static_cast<double>(n) + eps));
    for (int64_t i = 0; i < n; ++i) x[i] = (x[i] - mean) * scale * weight[i] + bias[i];
}

// BERT's GELU is the exact one (erf), as the models were trained; ggml's tanh form differs by < 1e-3.
float gelu_exact(float x) { return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f)); }

void add_row_bias(float* x, const std::vector<float>& bias, int64_t n_rows) {
    if (bias.empty()) return;
    const auto width = static_cast<int64_t>(bias.size());
    for (int64_t r = 0; r < n_rows; ++r)
        for (int64_t i = 0; i < width; ++i) x[r * width + i] += bias[i];
}

// Rotates pairs (i, i + d/2) of each head by pos * inv_freq[i] (NeoX layout, whole heads).
void rotate_heads(float* x, int64_t n_heads, int64_t head_dim, const std::vector<float>& inv_freq, int64_t pos) {
    const int64_t half = head_dim / 2;
    for (int64_t h = 0; h < n_heads; ++h) {
        float* head = x + h * head_dim;
        for (int64_t i = 0; i < half; ++i) {
            const float angle = static_cast<float>(pos) * inv_freq[static_cast<size_t>(i)];
            const float c = std::cos(angle), s = std::sin(angle);
            const float a = head[i], b = head[i + half];
            head[i] = a * c - b * s;
            head[i + half] = a * s + b * c;
        }
    }
}

}  // namespace

BertEncoder::BertEncoder(const BertModel& model, int64_t n_ctx, std::shared_ptr<ThreadPool> pool,
                         std::unique_ptr<MatmulBackend> backend, kernels::Isa isa)
    : model_(model),
      n_ctx_(std::min(n_ctx, model.config.n_ctx_train)),
      pool_(pool ? std::move(pool) : std::make_shared<ThreadPool>(default_thread_count())),
      backend_(backend ? std::move(backend) : std::make_unique<CpuMatmulBackend>(isa)),
      dot_(kernels::vec_dot_for(GgmlType::F32, isa).fn) {
    const BertConfig& c = model.config;
    if (n_ctx_ <= 0) throw std::invalid_argument("context length must be positive");
    if (c.rotary)
        for (int64_t i = 0; i < c.head_dim / 2; ++i)
            inv_freq_.push_back(std::pow(c.rope_freq_base, -2.0f * static_cast<float>(i) / static_cast<float>(c.head_dim)));
    scores_.resize(static_cast<size_t>(pool_->size() * n_ctx_));
}

std::vector<float> BertEncoder::hidden_states(std::span<const int32_t> tokens) {
    const BertConfig& c = model_.config;
    const auto n = static_cast<int64_t>(tokens.size());
    if (n == 0) throw std::invalid_argument("nothing to encode: no tokens");
    if (n > n_ctx_) throw std::invalid_argument("the input length exceeds the context length");
    for (int32_t token : tokens)
        if (token < 0 || token >= c.n_vocab) throw std::out_of_range("token id " + std::to_string(token) + " is outside the vocabulary");
    const auto rows = static_cast<size_t>(n);
    x_.resize(rows * c.n_embd);
    q_.resize(rows * c.n_embd);
    k_.resize(rows * c.n_embd);
    v_.resize(rows * c.n_embd);
    attn_out_.resize(rows * c.n_embd);
    proj_.resize(rows * c.n_embd);
    up_.resize(rows * c.n_ff);
    if (c.rotary) gate_.resize(rows * c.n_ff);

    std::vector<float> position(static_cast<size_t>(c.n_embd));
    for (int64_t t = 0; t < n; ++t) {
        float* x = &x_[t * c.n_embd];
        model_.token_embedding.read_row(tokens[t], std::span(x, c.n_embd));
        if (!model_.token_type.empty())
            for (int64_t i = 0; i < c.n_embd; ++i) x[i] += model_.token_type[i];
        if (!c.rotary) {
            model_.position_embedding.read_row(t, position);
            for (int64_t i = 0; i < c.n_embd; ++i) x[i] += position[i];
        }
        layer_norm(x, model_.embd_norm, model_.embd_norm_b, c.n_embd, c.norm_eps);
    }
    for (const BertLayer& layer : model_.layers) {
        attention(layer, n);
        feed_forward(layer, n);
    }
    return {x_.begin(), x_.begin() + static_cast<std::ptrdiff_t>(rows * c.n_embd)};
}

std::vector<float> BertEncoder::embed(std::span<const int32_t> tokens, bool normalize) {
    return pool_hidden_states(hidden_states(tokens), tokens.size(), model_.config.pooling, normalize);
}

void BertEncoder::attention(const BertLayer& layer, int64_t n) {
    const BertConfig& c = model_.config;
    const kernels::MatmulJob qkv[] = {{&layer.wq, q_.data()}, {&layer.wk, k_.data()}, {&layer.wv, v_.data()}};
    backend_->run(qkv, x_.data(), n, *pool_);
    add_row_bias(q_.data(), layer.bq, n);
    add_row_bias(k_.data(), layer.bk, n);
    add_row_bias(v_.data(), layer.bv, n);
    if (c.rotary)
        for (int64_t t = 0; t < n; ++t) {
            rotate_heads(&q_[t * c.n_embd], c.n_head, c.head_dim, inv_freq_, t);
            rotate_heads(&k_[t * c.n_embd], c.n_head, c.head_dim, inv_freq_, t);
        }

    // Every (token, head) pair attends to all n tokens; the pairs are split over the threads.
    const float scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
    pool_->run([&](int thread, int threads) {
        const std::span<float> scores(&scores_[static_cast<size_t>(thread * n_ctx_)], static_cast<size_t>(n));
        const int64_t pairs = n * c.n_head;
        for (int64_t pair = pairs * thread / threads; pair < pairs * (thread + 1) / threads; ++pair) {
            const int64_t t = pair / c.n_head, head = (pair % c.n_head) * c.head_dim;
            const float* q = &q_[t * c.n_embd + head];
            float max = -INFINITY;
            for (int64_t p = 0; p < n; ++p) {
                scores[p] = dot_(c.head_dim, &k_[p * c.n_embd + head], q) * scale;
                max = std::max(max, scores[p]);
            }
            float sum = 0;
            for (float& s : scores) sum += (s = std::exp(s - max));
            float* out = &attn_out_[t * c.n_embd + head];
            std::fill(out, out + c.head_dim, 0.0f);
            for (int64_t p = 0; p < n; ++p) {
                const float w = scores[p] / sum;
                const float* v = &v_[p * c.n_embd + head];
                for (int64_t i = 0; i < c.head_dim; ++i) out[i] += w * v[i];
            }
        }
    });
    backend_->run(layer.wo, attn_out_.data(), n, proj_.data(), *pool_);
    add_row_bias(proj_.data(), layer.bo, n);
    add_and_norm(layer.attn_norm, layer.attn_norm_b, n);
}

void BertEncoder::feed_forward(const BertLayer& layer, int64_t n) {
    const BertConfig& c = model_.config;
    const auto size = static_cast<size_t>(n * c.n_ff);
    if (c.rotary) {
        const kernels::MatmulJob gate_up[] = {{&layer.ffn_gate, gate_.data()}, {&layer.ffn_up, up_.data()}};
        backend_->run(gate_up, x_.data(), n, *pool_);
        for (size_t i = 0; i < size; ++i) up_[i] *= gate_[i] / (1.0f + std::exp(-gate_[i]));  // SiLU(gate) * up
    } else {
        backend_->run(layer.ffn_up, x_.data(), n, up_.data(), *pool_);
        add_row_bias(up_.data(), layer.ffn_up_b, n);
        for (size_t i = 0; i < size; ++i) up_[i] = gelu_exact(up_[i]);
    }
    backend_->run(layer.ffn_down, up_.data(), n, proj_.data(), *pool_);
    add_row_bias(proj_.data(), layer.ffn_down_b, n);
    add_and_norm(layer.out_norm, layer.out_norm_b, n);
}

void BertEncoder::add_and_norm(const std::vector<float>& weight, const std::vector<float>& bias, int64_t n) {
    const BertConfig& c = model_.config;
    for (int64_t t = 0; t < n; ++t) {
        float* x = &x_[t * c.n_embd];
        const float* proj = &proj_[t * c.n_embd];
        for (int64_t i = 0; i < c.n_embd; ++i) x[i] += proj[i];
        layer_norm(x, weight, bias, c.n_embd, c.norm_eps);
    }
}

}  // namespace rockllm
