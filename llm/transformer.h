// The decoder forward pass over a batch of tokens: embedding, n_layer blocks of (RMSNorm, attention
// with RoPE and grouped KV heads, RMSNorm, SwiGLU FFN), final norm, output head. Matrix products go
// through the quantized kernels and the thread pool.
//
// A Transformer is a model's engine: the activations of one batch, the thread pool, the matrix
// backend. The state of a sequence lives in a Sequence, and one pass may run the tokens of several
// sequences (batched decoding: every weight row is read once for all of them). A Transformer also
// owns one Sequence of its own, which the single-sequence calls use.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "llm/kernels/matmul.h"
#include "kv_cache.h"
#include "matmul_backend.h"
#include "model.h"
#include "sequence.h"
#include "thread_pool.h"

namespace rockllm {

struct TransformerOptions {
    int64_t n_ctx = 4096;                  // positions the KV cache holds
    int64_t n_batch = 512;                 // tokens evaluated together (longer inputs go in chunks)
    int n_threads = 0;                     // 0: default_thread_count(); ignored when pool is given
    std::shared_ptr<ThreadPool> pool;      // a pool shared with other engines (one per process)
    GgmlType kv_type = GgmlType::F16;      // F16 or F32
    kernels::Isa isa = kernels::detected_isa();
    // The KV page pool this sequence draws from (shared by a model's slots); when null, a pool of
    // its own with room for n_ctx positions in host memory. Its layout must match the model.
    std::shared_ptr<KvPagePool> kv_pool;
};

// A pool of KV pages for `sequences` sequences of n_ctx positions of this model.
std::shared_ptr<KvPagePool> make_kv_pool(const ModelConfig& config, int64_t n_ctx, int sequences, GgmlType kv_type,
                                         std::shared_ptr<KvPageMemory> memory = std::make_shared<HostKvPageMemory>());

// Tokens of one sequence for a pass: they go to positions pos, pos+1, ... (fed in order, below n_ctx).
struct SequenceInput {
    Sequence* sequence;
    std::span<const int32_t> tokens;
    int64_t pos;
};

class Transformer {
public:
    // backend multiplies the matrices; null means the CPU kernels.
    Transformer(const Model& model, TransformerOptions options, std::unique_ptr<MatmulBackend> backend = nullptr);

    // Runs the inputs of different sequences in one pass (at most n_batch tokens together) and
    // returns the next-token logits after each input's last token, n_vocab floats per input in
    // order, valid until the next call.
    std::span<const float> forward(std::span<const SequenceInput> inputs);
    // Throws what forward() would for this input (no tokens, positions outside the window, a token
    // outside the vocabulary, a sequence of another model).
    void check_input(const SequenceInput& input) const;
    // Runs one sequence's tokens (any number: long inputs go in chunks of n_batch) and returns
    // the next-token logits after the last one, valid until the next call.
    std::span<const float> forward(Sequence& sequence, std::span<const int32_t> tokens, int64_t pos);

    // Runs the tokens like forward() and returns every token's final hidden state (after the output
    // norm, before the output head), n_embd floats per token: the input of embedding pooling.
    std::vector<float> hidden_states(Sequence& sequence, std::span<const int32_t> tokens, int64_t pos);

    // Context shift: forgets positions [n_keep, n_keep + n_discard) of the first n_past, moves the
    // later ones down and re-rotates their keys, so that generation can go on past the window.
    // Afterwards the next position to feed is n_past - n_discard.
    void shift_context(Sequence& sequence, int64_t n_keep, int64_t n_discard, int64_t n_past);

    // A sequence of this model drawing pages from the engine's KV page pool.
    std::unique_ptr<Sequence> new_sequence() const { return std::make_unique<Sequence>(kv_pool_, options_.n_ctx); }

    // The engine's own sequence, and the calls above on it.
    Sequence& sequence() { return own_; }
    std::span<const float> forward(std::span<const int32_t> tokens, int64_t pos) { return forward(own_, tokens, pos); }
    std::span<const float> forward(int32_t token, int64_t pos) { return forward(own_, std::span(&token, 1), pos); }
    std::vector<float> hidden_states(std::span<const int32_t> tokens, int64_t pos) { return hidden_states(own_, tokens, pos); }
    void shift_context(int64_t n_keep, int64_t n_discard, int64_t n_past) { shift_context(own_, n_keep, n_discard, n_past); }
    void release_kv() { own_.release(); }
    const std::vector<int32_t>& cached_tokens() const { return own_.cached_tokens(); }
    int64_t reusable_prefix(std::span<const int32_t> prompt) const { return own_.reusable_prefix(prompt); }
    void keep_prefix(int64_t n) { own_.keep_prefix(n); }
    const KvCache& kv_cache() const { return own_.kv_cache(); }

    // Called after every layer with the residual stream of the tokens just run (n_tokens rows of
    // n_embd floats): the accuracy report compares two backends layer by layer with it.
    using LayerObserver = std::function<void(int64_t layer, const float* x, int64_t n_tokens)>;
    void set_layer_observer(LayerObserver observer) { observer_ = std::move(observer); }

    int64_t n_ctx() const { return options_.n_ctx; }
    int64_t n_batch() const { return options_.n_batch; }
    const ModelConfig& config() const { return model_.config; }
    ThreadPool& pool() { return *pool_; }
    MatmulBackend& backend() { return *backend_; }

private:
    // Runs the inputs (n_batch tokens at most) through every layer: x_ holds their last residual
    // stream, one row per token in input order.
    void forward_rows(std::span<const SequenceInput> inputs);
    void attention(const LayerWeights& layer, int64_t layer_index, int64_t n);
    void feed_forward(const LayerWeights& layer, int64_t n);
    // A mixture of experts' FFN over xnorm_, into proj_.
    void mixture_of_experts(const LayerWeights& layer, int64_t n);
    // xnorm_ = the residual stream normalised before a block (or copied, where there is no norm).
    void normalize_input(const std::vector<float>& norm, int64_t n);
    // x += proj (normalised first when the architecture has a post-norm here).
    void add_residual(const std::vector<float>& post_norm, int64_t n);

    const Model& model_;
    TransformerOptions options_;
    std::shared_ptr<ThreadPool> pool_;
    std::unique_ptr<MatmulBackend> backend_;
    std::shared_ptr<KvPagePool> kv_pool_;
    Sequence own_;
    LayerObserver observer_;
    // Where each row of the pass goes: its sequence's cache and its position.
    std::vector<KvCache*> row_cache_;
    std::vector<int64_t> row_pos_;
    // Activations for up to n_batch tokens, one row per token.
    std::vector<float> x_, xnorm_, q_, k_, v_, attn_out_, proj_, gate_, up_, logits_;
    std::vector<float> scores_;  // one n_ctx row per thread
    // A mixture of experts: the router's scores, and per expert the rows routed to it (token, weight)
    // with their inputs and outputs gathered.
    std::vector<float> router_, expert_in_, expert_out_;
    std::vector<std::vector<std::pair<int64_t, float>>> expert_rows_;

    // RoPE frequencies of global layers and of local (sliding-window) layers, which may differ.
    struct RopeTable {
        std::vector<float> inv_freq;
        float mscale = 1.0f;  // multiplies cos and sin (Phi-3 long context)
    };
    RopeTable rope_global_, rope_local_;
    const RopeTable& rope_for(int64_t layer) const {
        return model_.config.is_local_layer(layer) ? rope_local_ : rope_global_;
    }
};

}  // namespace rockllm
