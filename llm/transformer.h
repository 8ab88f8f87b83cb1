// The llama forward pass for one token at a time: embedding, n_layer blocks of
// (RMSNorm, attention with RoPE and grouped KV heads, RMSNorm, SwiGLU FFN), final norm, output head.
#pragma once

#include <span>
#include <vector>

#include "kv_cache.h"
#include "llama_model.h"

namespace rockllm {

class Transformer {
public:
    // n_ctx: positions the KV cache holds (at most the model's training context).
    Transformer(const LlamaModel& model, int64_t n_ctx);

    // Runs `token` at position `pos` (0 <= pos < n_ctx, positions fed in order) and returns the
    // next-token logits, valid until the next call.
    std::span<const float> forward(int32_t token, int64_t pos);

    int64_t n_ctx() const { return cache_.n_ctx(); }
    const ModelConfig& config() const { return model_.config; }

private:
    void attention(const LlamaLayer& layer, int64_t layer_index, int64_t pos);
    void feed_forward(const LlamaLayer& layer);

    const LlamaModel& model_;
    KvCache cache_;
    std::vector<float> x_, xnorm_, q_, attn_out_, proj_, scores_, gate_, up_, logits_;
    std::vector<float> rope_inv_freq_;
};

}  // namespace rockllm
