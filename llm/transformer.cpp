#include "transformer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

namespace rockllm {

namespace {

void rms_norm(const float* x, const std::vector<float>& weight, int64_t n, float eps, float* out) {
    float sum_squares = 0.0f;
    for (int64_t i = 0; i < n; ++i) sum_squares += x[i] * x[i];
    const float scale = 1.0f / std::sqrt(sum_squares / static_cast<float>(n) + eps);
    for (int64_t i = 0; i < n; ++i) out[i] = weight[i] * (scale * x[i]);
}

void softmax(std::span<float> x) {
    const float max = *std::max_element(x.begin(), x.end());
    float sum = 0.0f;
    for (float& v : x) {
        v = std::exp(v - max);
        sum += v;
    }
    const float inv = 1.0f / sum;
    for (float& v : x) v *= inv;
}

// Rotates the first 2 * inv_freq.size() dimensions of each head by pos * inv_freq[i] (cos and sin
// scaled by mscale).
void apply_rope(float* x, int64_t n_heads, int64_t head_dim, const std::vector<float>& inv_freq, RopeStyle style,
                int64_t pos, float mscale = 1.0f) {
    const size_t half = inv_freq.size();
    for (int64_t h = 0; h < n_heads; ++h) {
        float* head = x + h * head_dim;
        for (size_t i = 0; i < half; ++i) {
            const float angle = static_cast<float>(pos) * inv_freq[i];
            const float c = std::cos(angle) * mscale, s = std::sin(angle) * mscale;
            float& a = style == RopeStyle::Interleaved ? head[2 * i] : head[i];
            float& b = style == RopeStyle::Interleaved ? head[2 * i + 1] : head[i + half];
            const float a0 = a, b0 = b;
            a = a0 * c - b0 * s;
            b = a0 * s + b0 * c;
        }
    }
}

float gelu(float x) {  // tanh approximation, as ggml and the Gemma reference use
    constexpr float kSqrt2OverPi = 0.7978845608028654f;
    return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
}

float softcap(float x, float cap) { return cap * std::tanh(x / cap); }

void add_bias(float* x, const std::vector<float>& bias, int64_t n_rows) {
    const auto width = static_cast<int64_t>(bias.size());
    for (int64_t r = 0; r < n_rows; ++r)
        for (int64_t i = 0; i < width; ++i) x[r * width + i] += bias[i];
}

// dst[i] += weight * v[i] for a K/V cache row of either storage type.
void accumulate_row(float* dst, const void* v, float weight, int64_t n, GgmlType type, kernels::Isa isa) {
    if (type == GgmlType::F32) {
        const auto* f = static_cast<const float*>(v);
        for (int64_t i = 0; i < n; ++i) dst[i] += weight * f[i];
    } else {
        kernels::axpy_f16(n, weight, static_cast<const uint16_t*>(v), dst, isa);
    }
}

}  // namespace

std::shared_ptr<KvPagePool> make_kv_pool(const ModelConfig& config, int64_t n_ctx, int sequences, GgmlType kv_type,
                                         std::shared_ptr<KvPageMemory> memory) {
    if (n_ctx <= 0) throw std::invalid_argument("context length must be positive");
    KvLayout layout{config.n_layer, config.kv_dim(), kv_type, 64};
    const int64_t pages_per_sequence = (n_ctx + layout.page_tokens - 1) / layout.page_tokens;
    return std::make_shared<KvPagePool>(layout, pages_per_sequence * std::max(1, sequences), std::move(memory));
}

namespace {

std::shared_ptr<KvPagePool> checked_pool(const ModelConfig& c, const TransformerOptions& options) {
    if (!options.kv_pool) return make_kv_pool(c, options.n_ctx, 1, options.kv_type);
    const KvLayout& l = options.kv_pool->layout();
    if (l.n_layer != c.n_layer || l.kv_dim != c.kv_dim()) throw std::invalid_argument("the KV page pool was made for another model");
    return options.kv_pool;
}

}  // namespace

Transformer::Transformer(const Model& model, TransformerOptions options, std::unique_ptr<MatmulBackend> backend)
    : model_(model),
      options_(options),
      pool_(options.pool ? options.pool
                         : std::make_shared<ThreadPool>(options.n_threads > 0 ? options.n_threads : default_thread_count())),
      backend_(backend ? std::move(backend) : std::make_unique<CpuMatmulBackend>(options.isa)),
      kv_pool_(checked_pool(model.config, options)),
      own_(kv_pool_, options.n_ctx) {
    const ModelConfig& c = model.config;
    if (options.n_batch <= 0) throw std::invalid_argument("batch size must be positive");
    if (options.n_ctx <= 0) throw std::invalid_argument("context length must be positive");
    const auto rows = static_cast<size_t>(options.n_batch);
    x_.resize(rows * c.n_embd);
    xnorm_.resize(rows * c.n_embd);
    q_.resize(rows * c.q_dim());
    k_.resize(rows * c.kv_dim());
    v_.resize(rows * c.kv_dim());
    attn_out_.resize(rows * c.q_dim());
    proj_.resize(rows * c.n_embd);
    row_cache_.resize(rows);
    row_pos_.resize(rows);
    gate_.resize(rows * std::max(c.n_ff, c.n_ff_expert));
    up_.resize(rows * std::max(c.n_ff, c.n_ff_expert));
    if (c.n_expert > 0) {
        router_.resize(rows * c.n_expert);
        expert_in_.resize(rows * c.n_embd);
        expert_out_.resize(rows * c.n_embd);
        expert_rows_.resize(static_cast<size_t>(c.n_expert));
    }
    logits_.resize(c.n_vocab);
    scores_.resize(static_cast<size_t>(pool_->size()) * options.n_ctx);
    // Phi-3 switches to its long-context factors (and attention factor) beyond the original context.
    const bool long_context = !model.rope_factors_long.empty() && options.n_ctx > model.rope_original_context;
    const std::vector<float>& factors = long_context ? model.rope_factors_long : model.rope_factors;
    auto table = [&](float base, float scale) {
        RopeTable t;
        for (int64_t i = 0; i < c.rope_dim / 2; ++i) {
            const float factor = factors.empty() ? 1.0f : factors[static_cast<size_t>(i)];
            t.inv_freq.push_back(scale / factor /
                                 std::pow(base, static_cast<float>(2 * i) / static_cast<float>(c.rope_dim)));
        }
        t.mscale = long_context ? model.rope_attn_factor : 1.0f;
        return t;
    };
    rope_global_ = table(c.rope_freq_base, c.rope_freq_scale);
    rope_local_ = c.traits.local_rope_base > 0 ? table(c.traits.local_rope_base, 1.0f) : rope_global_;
}

void Transformer::shift_context(Sequence& sequence, int64_t n_keep, int64_t n_discard, int64_t n_past) {
    const ModelConfig& c = model_.config;
    sequence.erase(n_keep, n_discard, n_past);
    KvCache& cache = sequence.kv_cache();
    // RoPE rotations compose: rotating a key stored at position p by -n_discard gives position p - n_discard.
    std::vector<float> key(static_cast<size_t>(c.kv_dim()));
    for (int64_t l = 0; l < c.n_layer; ++l) {
        if (!c.uses_rope(l)) continue;  // a NoPE layer's keys do not depend on their position
        for (int64_t p = n_keep; p < n_past - n_discard; ++p) {
            cache.load_key(l, p, key.data());
            apply_rope(key.data(), c.n_head_kv, c.head_dim, rope_for(l).inv_freq, c.traits.rope, -n_discard);
            cache.store_key(l, p, key.data());
        }
    }
}

void Transformer::check_input(const SequenceInput& input) const {
    const ModelConfig& c = model_.config;
    const auto n = static_cast<int64_t>(input.tokens.size());
    if (n == 0) throw std::invalid_argument("forward needs at least one token");
    if (input.sequence->n_ctx() != n_ctx() || input.sequence->kv_cache().kv_dim() != c.kv_dim())
        throw std::invalid_argument("the sequence was made for another model or context length");
    if (input.pos < 0 || input.pos + n > n_ctx())
        throw std::out_of_range("positions " + std::to_string(input.pos) + ".." + std::to_string(input.pos + n - 1) +
                                " are outside the context window of " + std::to_string(n_ctx()));
    for (int32_t token : input.tokens)
        if (token < 0 || token >= c.n_vocab)
            throw std::out_of_range("token id " + std::to_string(token) + " is outside the vocabulary");
}

std::vector<float> Transformer::hidden_states(Sequence& sequence, std::span<const int32_t> tokens, int64_t pos) {
    check_input({&sequence, tokens, pos});
    const ModelConfig& c = model_.config;
    std::vector<float> out(tokens.size() * static_cast<size_t>(c.n_embd));
    for (size_t start = 0; start < tokens.size(); start += static_cast<size_t>(options_.n_batch)) {
        const size_t n = std::min(tokens.size() - start, static_cast<size_t>(options_.n_batch));
        const SequenceInput chunk{&sequence, tokens.subspan(start, n), pos + static_cast<int64_t>(start)};
        forward_rows(std::span(&chunk, 1));
        for (size_t t = 0; t < n; ++t)
            rms_norm(&x_[t * c.n_embd], model_.output_norm, c.n_embd, c.rms_norm_eps, &out[(start + t) * c.n_embd]);
    }
    return out;
}

std::span<const float> Transformer::forward(Sequence& sequence, std::span<const int32_t> tokens, int64_t pos) {
    check_input({&sequence, tokens, pos});
    const auto batch = static_cast<size_t>(options_.n_batch);
    // Every chunk but the last only fills the cache; the last one's logits are the answer.
    for (size_t start = 0; start + batch < tokens.size(); start += batch) {
        const SequenceInput chunk{&sequence, tokens.subspan(start, batch), pos + static_cast<int64_t>(start)};
        forward_rows(std::span(&chunk, 1));
    }
    const size_t last_start = (tokens.size() - 1) / batch * batch;
    const SequenceInput last{&sequence, tokens.subspan(last_start), pos + static_cast<int64_t>(last_start)};
    return forward(std::span(&last, 1));
}

std::span<const float> Transformer::forward(std::span<const SequenceInput> inputs) {
    const ModelConfig& c = model_.config;
    if (inputs.empty()) throw std::invalid_argument("forward needs at least one input");
    forward_rows(inputs);
    // Only each input's last token's logits are needed to sample its next one: the output head
    // runs on those rows alone, all in one product.
    const auto n_inputs = static_cast<int64_t>(inputs.size());
    if (logits_.size() < static_cast<size_t>(n_inputs * c.n_vocab)) logits_.resize(static_cast<size_t>(n_inputs * c.n_vocab));
    int64_t row = -1;
    for (int64_t i = 0; i < n_inputs; ++i) {
        row += static_cast<int64_t>(inputs[i].tokens.size());
        rms_norm(&x_[row * c.n_embd], model_.output_norm, c.n_embd, c.rms_norm_eps, &xnorm_[i * c.n_embd]);
    }
    backend_->run(model_.output, xnorm_.data(), n_inputs, logits_.data(), *pool_);
    const std::span<float> logits(logits_.data(), static_cast<size_t>(n_inputs * c.n_vocab));
    if (c.logit_scale != 1.0f)
        for (float& v : logits) v /= c.logit_scale;
    if (c.final_logit_softcap > 0)
        for (float& v : logits) v = softcap(v, c.final_logit_softcap);
    return logits;
}

void Transformer::forward_rows(std::span<const SequenceInput> inputs) {
    const ModelConfig& c = model_.config;
    int64_t n = 0;
    for (const SequenceInput& input : inputs) {
        check_input(input);
        n += static_cast<int64_t>(input.tokens.size());
    }
    if (n > options_.n_batch)
        throw std::invalid_argument("a pass of " + std::to_string(n) + " tokens is over the batch size of " +
                                    std::to_string(options_.n_batch));
    int64_t row = 0;
    for (const SequenceInput& input : inputs) {
        const auto count = static_cast<int64_t>(input.tokens.size());
        input.sequence->prepare_write(input.pos, count);
        for (int64_t t = 0; t < count; ++t, ++row) {
            model_.token_embedding.read_row(input.tokens[t], std::span(&x_[row * c.n_embd], c.n_embd));
            row_cache_[row] = &input.sequence->kv_cache();
            row_pos_[row] = input.pos + t;
        }
    }
    if (c.traits.scale_embeddings || c.embedding_scale != 1.0f) {
        const float scale = c.traits.scale_embeddings ? std::sqrt(static_cast<float>(c.n_embd)) : c.embedding_scale;
        for (int64_t i = 0; i < n * c.n_embd; ++i) x_[i] *= scale;
    }
    for (int64_t l = 0; l < c.n_layer; ++l) {
        attention(model_.layers[l], l, n);
        feed_forward(model_.layers[l], n);
        if (observer_) observer_(l, x_.data(), n);
    }
    for (const SequenceInput& input : inputs) input.sequence->record(input.tokens, input.pos);
}

void Transformer::attention(const LayerWeights& layer, int64_t layer_index, int64_t n) {
    const ModelConfig& c = model_.config;
    normalize_input(layer.attn_norm, n);
    const kernels::MatmulJob qkv[] = {{&layer.wq, q_.data()}, {&layer.wk, k_.data()}, {&layer.wv, v_.data()}};
    backend_->run(qkv, xnorm_.data(), n, *pool_);
    if (!layer.bq.empty()) {
        add_bias(q_.data(), layer.bq, n);
        add_bias(k_.data(), layer.bk, n);
        add_bias(v_.data(), layer.bv, n);
    }
    for (int64_t t = 0; t < n; ++t) {
        float* q = &q_[t * c.q_dim()];
        float* k = &k_[t * c.kv_dim()];
        if (c.traits.qk_norm_full) {
            rms_norm(q, layer.q_norm, c.q_dim(), c.rms_norm_eps, q);
            rms_norm(k, layer.k_norm, c.kv_dim(), c.rms_norm_eps, k);
        } else if (!layer.q_norm.empty()) {
            for (int64_t h = 0; h < c.n_head; ++h)
                rms_norm(q + h * c.head_dim, layer.q_norm, c.head_dim, c.rms_norm_eps, q + h * c.head_dim);
            for (int64_t h = 0; h < c.n_head_kv; ++h)
                rms_norm(k + h * c.head_dim, layer.k_norm, c.head_dim, c.rms_norm_eps, k + h * c.head_dim);
        }
        const RopeTable& rope = rope_for(layer_index);
        const int64_t pos = row_pos_[t];
        if (c.uses_rope(layer_index)) {
            apply_rope(q, c.n_head, c.head_dim, rope.inv_freq, c.traits.rope, pos, rope.mscale);
            apply_rope(k, c.n_head_kv, c.head_dim, rope.inv_freq, c.traits.rope, pos, rope.mscale);
        }
        row_cache_[t]->store_key(layer_index, pos, k);
        row_cache_[t]->store_value(layer_index, pos, &v_[t * c.kv_dim()]);
    }

    // Causal attention: a token at position p sees positions 0..p of its own sequence, or only the
    // last sliding_window of them in a local layer. Work is split over (token, head) pairs.
    const int64_t heads_per_kv = c.n_head / c.n_head_kv;
    const float scale = c.attention_scale;
    const int64_t window = c.is_local_layer(layer_index) ? c.sliding_window : 0;
    const GgmlType kv_type = kv_pool_->layout().type;
    const kernels::VecDotFn dot = kernels::vec_dot_for(kv_type, options_.isa).fn;
    const size_t kv_row_offset = static_cast<size_t>(c.head_dim) * (kv_type == GgmlType::F16 ? 2 : 4);
    pool_->run([&](int thread, int threads) {
        float* scores_row = &scores_[static_cast<size_t>(thread) * n_ctx()];
        const int64_t pairs = n * c.n_head;
        for (int64_t pair = pairs * thread / threads; pair < pairs * (thread + 1) / threads; ++pair) {
            const int64_t t = pair / c.n_head, h = pair % c.n_head;
            const int64_t last = row_pos_[t];
            const KvCache& cache = *row_cache_[t];
            const int64_t first = window > 0 ? std::max<int64_t>(0, last - window + 1) : 0;
            const float* qh = &q_[t * c.q_dim() + h * c.head_dim];
            const size_t kv_head = static_cast<size_t>(h / heads_per_kv) * kv_row_offset;
            std::span<float> scores(scores_row, static_cast<size_t>(last + 1 - first));
            for (int64_t p = first; p <= last; ++p) {
                const auto* k = static_cast<const uint8_t*>(cache.key(layer_index, p)) + kv_head;
                float score = dot(c.head_dim, k, qh) * scale;
                if (c.attn_logit_softcap > 0) score = softcap(score, c.attn_logit_softcap);
                scores[p - first] = score;
            }
            softmax(scores);
            float* out = &attn_out_[t * c.q_dim() + h * c.head_dim];
            std::fill(out, out + c.head_dim, 0.0f);
            for (int64_t p = first; p <= last; ++p) {
                const auto* v = static_cast<const uint8_t*>(cache.value(layer_index, p)) + kv_head;
                accumulate_row(out, v, scores[p - first], c.head_dim, kv_type, options_.isa);
            }
        }
    });
    backend_->run(layer.wo, attn_out_.data(), n, proj_.data(), *pool_);
    add_residual(layer.post_attention_norm, n);
}

void Transformer::add_residual(const std::vector<float>& post_norm, int64_t n) {
    const ModelConfig& c = model_.config;
    if (!post_norm.empty())
        for (int64_t t = 0; t < n; ++t)
            rms_norm(&proj_[t * c.n_embd], post_norm, c.n_embd, c.rms_norm_eps, &proj_[t * c.n_embd]);
    if (c.residual_scale != 1.0f)
        for (int64_t i = 0; i < n * c.n_embd; ++i) proj_[i] *= c.residual_scale;
    for (int64_t i = 0; i < n * c.n_embd; ++i) x_[i] += proj_[i];
}

void Transformer::normalize_input(const std::vector<float>& norm, int64_t n) {
    const ModelConfig& c = model_.config;
    if (norm.empty()) {  // no norm before the block (OLMo 2): its input as it is
        std::copy_n(x_.begin(), n * c.n_embd, xnorm_.begin());
        return;
    }
    for (int64_t t = 0; t < n; ++t) rms_norm(&x_[t * c.n_embd], norm, c.n_embd, c.rms_norm_eps, &xnorm_[t * c.n_embd]);
}

void Transformer::feed_forward(const LayerWeights& layer, int64_t n) {
    const ModelConfig& c = model_.config;
    normalize_input(layer.ffn_norm, n);
    if (c.n_expert > 0) {
        mixture_of_experts(layer, n);
        add_residual(layer.post_ffn_norm, n);
        return;
    }
    const kernels::MatmulJob gate_up[] = {{&layer.ffn_gate, gate_.data()}, {&layer.ffn_up, up_.data()}};
    backend_->run(gate_up, xnorm_.data(), n, *pool_);
    if (c.traits.activation == Activation::GeLU) {
        for (int64_t i = 0; i < n * c.n_ff; ++i) gate_[i] = gelu(gate_[i]) * up_[i];
    } else {
        for (int64_t i = 0; i < n * c.n_ff; ++i) {
            const float g = gate_[i];
            gate_[i] = g / (1.0f + std::exp(-g)) * up_[i];  // SiLU(gate) * up
        }
    }
    backend_->run(layer.ffn_down, gate_.data(), n, proj_.data(), *pool_);
    add_residual(layer.post_ffn_norm, n);
}

void Transformer::mixture_of_experts(const LayerWeights& layer, int64_t n) {
    const ModelConfig& c = model_.config;
    backend_->run(layer.ffn_router, xnorm_.data(), n, router_.data(), *pool_);
    // Each token's softmax over the experts; it runs the n_expert_used likeliest (the lower index
    // first on a tie), weighted by their probabilities, renormalised to sum to 1 where the
    // architecture says so.
    for (auto& rows : expert_rows_) rows.clear();
    std::vector<int64_t> order(static_cast<size_t>(c.n_expert));
    for (int64_t t = 0; t < n; ++t) {
        const std::span<float> p(&router_[t * c.n_expert], static_cast<size_t>(c.n_expert));
        softmax(p);
        for (int64_t e = 0; e < c.n_expert; ++e) order[e] = e;
        std::partial_sort(order.begin(), order.begin() + c.n_expert_used, order.end(),
                          [&](int64_t a, int64_t b) { return p[a] > p[b] || (p[a] == p[b] && a < b); });
        float picked = 0.0f;
        for (int64_t k = 0; k < c.n_expert_used; ++k) picked += p[order[k]];
        const float scale = c.traits.normalize_expert_weights ? 1.0f / picked : 1.0f;
        for (int64_t k = 0; k < c.n_expert_used; ++k) expert_rows_[order[k]].push_back({t, p[order[k]] * scale});
    }
    // Each expert runs once on all the rows routed to it (a prompt's tokens share the experts' weights).
    std::fill(proj_.begin(), proj_.begin() + n * c.n_embd, 0.0f);
    const int64_t ff = c.n_ff_expert;
    for (int64_t e = 0; e < c.n_expert; ++e) {
        const auto& rows = expert_rows_[e];
        if (rows.empty()) continue;
        const auto m = static_cast<int64_t>(rows.size());
        for (int64_t i = 0; i < m; ++i)
            std::copy_n(&xnorm_[rows[i].first * c.n_embd], c.n_embd, &expert_in_[i * c.n_embd]);
        const kernels::MatmulJob gate_up[] = {{&layer.expert_gate[e], gate_.data()}, {&layer.expert_up[e], up_.data()}};
        backend_->run(gate_up, expert_in_.data(), m, *pool_);
        for (int64_t i = 0; i < m * ff; ++i) gate_[i] = gate_[i] / (1.0f + std::exp(-gate_[i])) * up_[i];  // SiLU(gate) * up
        backend_->run(layer.expert_down[e], gate_.data(), m, expert_out_.data(), *pool_);
        for (int64_t i = 0; i < m; ++i) {
            float* out = &proj_[rows[i].first * c.n_embd];
            const float w = rows[i].second;
            for (int64_t j = 0; j < c.n_embd; ++j) out[j] += w * expert_out_[i * c.n_embd + j];
        }
    }
}

}  // namespace rockllm
