#include "transformer.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace rockllm {

namespace {

void rms_norm(std::span<const float> x, std::span<const float> weight, float eps, std::span<float> out) {
    float sum_squares = 0.0f;
    for (float v : x) sum_squares += v * v;
    const float scale = 1.0f / std::sqrt(sum_squares / static_cast<float>(x.size()) + eps);
    for (size_t i = 0; i < x.size(); ++i) out[i] = weight[i] * (scale * x[i]);
}

void softmax(std::span<float> x) {
    float max = x[0];
    for (float v : x) max = std::max(max, v);
    float sum = 0.0f;
    for (float& v : x) {
        v = std::exp(v - max);
        sum += v;
    }
    for (float& v : x) v /= sum;
}

// Rotates adjacent pairs (x[2i], x[2i+1]) of each head by pos * inv_freq[i] (llama's "normal" RoPE).
void apply_rope(std::span<float> x, int64_t n_heads, int64_t head_dim, std::span<const float> inv_freq, int64_t pos) {
    for (int64_t h = 0; h < n_heads; ++h) {
        float* head = x.data() + h * head_dim;
        for (size_t i = 0; i < inv_freq.size(); ++i) {
            const float angle = static_cast<float>(pos) * inv_freq[i];
            const float c = std::cos(angle), s = std::sin(angle);
            const float a = head[2 * i], b = head[2 * i + 1];
            head[2 * i] = a * c - b * s;
            head[2 * i + 1] = a * s + b * c;
        }
    }
}

}  // namespace

Transformer::Transformer(const LlamaModel& model, int64_t n_ctx)
    : model_(model), cache_(model.config.n_layer, n_ctx, model.config.kv_dim()) {
    const ModelConfig& c = model.config;
    if (n_ctx <= 0) throw std::invalid_argument("context length must be positive");
    x_.resize(c.n_embd);
    xnorm_.resize(c.n_embd);
    q_.resize(c.q_dim());
    attn_out_.resize(c.q_dim());
    proj_.resize(c.n_embd);
    scores_.resize(n_ctx);
    gate_.resize(c.n_ff);
    up_.resize(c.n_ff);
    logits_.resize(c.n_vocab);
    for (int64_t i = 0; i < c.rope_dim / 2; ++i)
        rope_inv_freq_.push_back(1.0f / std::pow(c.rope_freq_base, static_cast<float>(2 * i) / static_cast<float>(c.rope_dim)));
}

std::span<const float> Transformer::forward(int32_t token, int64_t pos) {
    const ModelConfig& c = model_.config;
    if (token < 0 || token >= c.n_vocab) throw std::out_of_range("token id " + std::to_string(token) + " is outside the vocabulary");
    if (pos < 0 || pos >= n_ctx()) throw std::out_of_range("position " + std::to_string(pos) + " is outside the context window");

    model_.token_embedding.read_row(token, x_);
    for (int64_t l = 0; l < c.n_layer; ++l) {
        const LlamaLayer& layer = model_.layers[l];
        attention(layer, l, pos);
        feed_forward(layer);
    }
    rms_norm(x_, model_.output_norm, c.rms_norm_eps, xnorm_);
    model_.output.matvec(xnorm_, logits_);
    return logits_;
}

void Transformer::attention(const LlamaLayer& layer, int64_t layer_index, int64_t pos) {
    const ModelConfig& c = model_.config;
    rms_norm(x_, layer.attn_norm, c.rms_norm_eps, xnorm_);
    std::span<float> k = cache_.key(layer_index, pos);
    std::span<float> v = cache_.value(layer_index, pos);
    layer.wq.matvec(xnorm_, q_);
    layer.wk.matvec(xnorm_, k);
    layer.wv.matvec(xnorm_, v);
    apply_rope(q_, c.n_head, c.head_dim, rope_inv_freq_, pos);
    apply_rope(k, c.n_head_kv, c.head_dim, rope_inv_freq_, pos);

    const int64_t heads_per_kv = c.n_head / c.n_head_kv;
    const float scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
    for (int64_t h = 0; h < c.n_head; ++h) {
        const float* qh = q_.data() + h * c.head_dim;
        const int64_t kv_offset = (h / heads_per_kv) * c.head_dim;
        std::span<float> scores(scores_.data(), static_cast<size_t>(pos + 1));
        for (int64_t t = 0; t <= pos; ++t) {
            const float* kt = cache_.key(layer_index, t).data() + kv_offset;
            float dot = 0.0f;
            for (int64_t i = 0; i < c.head_dim; ++i) dot += qh[i] * kt[i];
            scores[t] = dot * scale;
        }
        softmax(scores);
        float* out = attn_out_.data() + h * c.head_dim;
        std::fill(out, out + c.head_dim, 0.0f);
        for (int64_t t = 0; t <= pos; ++t) {
            const float* vt = cache_.value(layer_index, t).data() + kv_offset;
            for (int64_t i = 0; i < c.head_dim; ++i) out[i] += scores[t] * vt[i];
        }
    }
    layer.wo.matvec(attn_out_, proj_);
    for (int64_t i = 0; i < c.n_embd; ++i) x_[i] += proj_[i];
}

void Transformer::feed_forward(const LlamaLayer& layer) {
    const ModelConfig& c = model_.config;
    rms_norm(x_, layer.ffn_norm, c.rms_norm_eps, xnorm_);
    layer.ffn_gate.matvec(xnorm_, gate_);
    layer.ffn_up.matvec(xnorm_, up_);
    for (int64_t i = 0; i < c.n_ff; ++i) {
        const float g = gate_[i];
        gate_[i] = g / (1.0f + std::exp(-g)) * up_[i];  // SiLU(gate) * up
    }
    layer.ffn_down.matvec(gate_, proj_);
    for (int64_t i = 0; i < c.n_embd; ++i) x_[i] += proj_[i];
}

}  // namespace rockllm
