// The forward pass of a BERT-family encoder (llm/bert_model.h): token, segment and position
// embeddings, LayerNorm, then n_layer post-norm blocks of (bidirectional attention, add, LayerNorm,
// feed-forward, add, LayerNorm). Every token sees every other, so a text runs whole in one pass and
// nothing is cached between texts. Matrix products go through a MatmulBackend (the CPU kernels, or
// the NPU's placed matrices).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "bert_model.h"
#include "llm/kernels/vec_dot.h"
#include "matmul_backend.h"
#include "thread_pool.h"

namespace rockllm {

class BertEncoder {
public:
    // n_ctx: the most tokens a text may have, at most the trained context. backend null: the CPU kernels.
    BertEncoder(const BertModel& model, int64_t n_ctx, std::shared_ptr<ThreadPool> pool,
                std::unique_ptr<MatmulBackend> backend = nullptr, kernels::Isa isa = kernels::detected_isa());

    // The last block's output for each token, n_embd floats per token. One text at a time: the
    // activations are the encoder's own.
    std::vector<float> hidden_states(std::span<const int32_t> tokens);
    // The hidden states pooled as the model's metadata says (normalize: to unit length).
    std::vector<float> embed(std::span<const int32_t> tokens, bool normalize = true);

    int64_t n_ctx() const { return n_ctx_; }
    const BertConfig& config() const { return model_.config; }

private:
    void attention(const BertLayer& layer, int64_t n);
    void feed_forward(const BertLayer& layer, int64_t n);
    // x = LayerNorm(x + proj), row by row.
    void add_and_norm(const std::vector<float>& weight, const std::vector<float>& bias, int64_t n);

    const BertModel& model_;
    int64_t n_ctx_;
    std::shared_ptr<ThreadPool> pool_;
    std::unique_ptr<MatmulBackend> backend_;
    kernels::VecDotFn dot_;
    std::vector<float> inv_freq_;  // rotary models' RoPE frequencies
    // Activations of the text being run, one row per token.
    std::vector<float> x_, q_, k_, v_, attn_out_, proj_, gate_, up_;
    std::vector<float> scores_;  // one n_ctx row per thread
};

}  // namespace rockllm
