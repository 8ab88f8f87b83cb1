// The decoder forward pass over a batch of consecutive tokens: embedding, n_layer blocks of
// (RMSNorm, attention with RoPE and grouped KV heads, RMSNorm, SwiGLU FFN), final norm, output head.
// Matrix products go through the quantized kernels and the thread pool.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "llm/kernels/matmul.h"
#include "kv_cache.h"
#include "matmul_backend.h"
#include "model.h"
#include "thread_pool.h"

namespace rockllm {

struct TransformerOptions {
    int64_t n_ctx = 4096;                  // positions the KV cache holds
    int64_t n_batch = 512;                 // tokens evaluated together (longer inputs go in chunks)
    int n_threads = 0;                     // 0: default_thread_count()
    GgmlType kv_type = GgmlType::F16;      // F16 or F32
    kernels::Isa isa = kernels::detected_isa();
    // The KV page pool this sequence draws from (shared by a model's slots); when null, a pool of
    // its own with room for n_ctx positions in host memory. Its layout must match the model.
    std::shared_ptr<KvPagePool> kv_pool;
};

// A pool of KV pages for `sequences` sequences of n_ctx positions of this model.
std::shared_ptr<KvPagePool> make_kv_pool(const ModelConfig& config, int64_t n_ctx, int sequences, GgmlType kv_type,
                                         std::shared_ptr<KvPageMemory> memory = std::make_shared<HostKvPageMemory>());

class Transformer {
public:
    // backend multiplies the matrices; null means the CPU kernels.
    Transformer(const Model& model, TransformerOptions options, std::unique_ptr<MatmulBackend> backend = nullptr);

    // Runs tokens at positions pos, pos+1, ... (positions fed in order, all below n_ctx) and
    // returns the next-token logits after the last one, valid until the next call.
    std::span<const float> forward(std::span<const int32_t> tokens, int64_t pos);
    std::span<const float> forward(int32_t token, int64_t pos) { return forward(std::span(&token, 1), pos); }

    // Runs the tokens like forward() and returns every token's final hidden state (after the output
    // norm, before the output head), n_embd floats per token: the input of embedding pooling.
    std::vector<float> hidden_states(std::span<const int32_t> tokens, int64_t pos);

    // Context shift: forgets positions [n_keep, n_keep + n_discard) of the first n_past, moves the
    // later ones down and re-rotates their keys, so that generation can go on past the window.
    // Afterwards the next position to feed is n_past - n_discard.
    void shift_context(int64_t n_keep, int64_t n_discard, int64_t n_past);

    // The sequence is over: its KV pages go back to the pool (the next forward starts at 0).
    void release_kv();

    // The prompt cache: the tokens whose keys and values the cache holds, position by position
    // (-1 where a position was fed out of order and is unknown).
    const std::vector<int32_t>& cached_tokens() const { return cached_tokens_; }
    // How many leading tokens of `prompt` the cache already holds, at most prompt.size() - 1: the
    // last prompt token is always run again, for the logits that sample the first answer token.
    int64_t reusable_prefix(std::span<const int32_t> prompt) const;
    // Keeps the first n cached positions and gives back the pages past them.
    void keep_prefix(int64_t n);

    // Called after every layer with the residual stream of the tokens just run (n_tokens rows of
    // n_embd floats): the accuracy report compares two backends layer by layer with it.
    using LayerObserver = std::function<void(int64_t layer, const float* x, int64_t n_tokens)>;
    void set_layer_observer(LayerObserver observer) { observer_ = std::move(observer); }

    int64_t n_ctx() const { return cache_.n_ctx(); }
    const ModelConfig& config() const { return model_.config; }
    const KvCache& kv_cache() const { return cache_; }
    ThreadPool& pool() { return *pool_; }
    MatmulBackend& backend() { return *backend_; }

private:
    void forward_batch(std::span<const int32_t> tokens, int64_t pos);
    // Records that positions pos.. now hold tokens (and nothing past them).
    void record_cached(std::span<const int32_t> tokens, int64_t pos);
    void check_input(std::span<const int32_t> tokens, int64_t pos) const;
    void attention(const LayerWeights& layer, int64_t layer_index, int64_t n, int64_t pos);
    void feed_forward(const LayerWeights& layer, int64_t n);
    // x += proj (normalised first when the architecture has a post-norm here).
    void add_residual(const std::vector<float>& post_norm, int64_t n);

    const Model& model_;
    TransformerOptions options_;
    std::unique_ptr<ThreadPool> pool_;
    std::unique_ptr<MatmulBackend> backend_;
    KvCache cache_;
    std::vector<int32_t> cached_tokens_;
    LayerObserver observer_;
    // Activations for up to n_batch tokens, one row per token.
    std::vector<float> x_, xnorm_, q_, k_, v_, attn_out_, proj_, gate_, up_, logits_;
    std::vector<float> scores_;  // one n_ctx row per thread

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
