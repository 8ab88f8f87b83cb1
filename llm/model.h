// The weights of a decoder-only transformer, validated against its configuration at load.
// Matrices are views into the mapped file; only small vectors (norms, biases) are copied.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "gguf.h"
#include "lora_adapter.h"
#include "model_config.h"
#include "weights.h"

namespace rockllm {

struct LayerWeights {
    std::vector<float> attn_norm;
    WeightMatrix wq, wk, wv, wo;
    std::vector<float> bq, bk, bv;        // empty unless the architecture has QKV biases
    std::vector<float> q_norm, k_norm;    // empty unless the architecture normalises q and k per head
    std::vector<float> ffn_norm;
    WeightMatrix ffn_gate, ffn_up, ffn_down;
    std::vector<float> post_attention_norm, post_ffn_norm;  // empty unless the architecture has them
    // A mixture-of-experts FFN instead of gate/up/down: the router, and each expert's matrices.
    WeightMatrix ffn_router;
    std::vector<WeightMatrix> expert_gate, expert_up, expert_down;
};

struct Model {
    std::shared_ptr<const gguf::File> file;  // keeps the mapping that the weight views point into
    ModelConfig config;
    WeightMatrix token_embedding;
    std::vector<LayerWeights> layers;
    std::vector<float> output_norm;
    WeightMatrix output;  // the token embedding itself when the file has no output.weight
    // Per-dimension RoPE frequency divisors (Llama 3.1+ rope_freqs, Phi-3 long/short factors).
    std::vector<float> rope_factors, rope_factors_long;
    int64_t rope_original_context = 0;  // Phi-3: long factors apply beyond this context
    float rope_attn_factor = 1.0f;      // Phi-3 long-context attention scaling of cos/sin
    // Copies of matrices that views point into: LoRA-merged ones, and those in the CPU kernels'
    // layouts (llm/weight_repack.h).
    std::vector<std::shared_ptr<uint8_t[]>> repacked;

    // With an adapter, the matrices it adapts are merged copies (llm/lora_adapter.h); an adapter
    // naming a tensor the model does not have is a gguf::FormatError.
    static Model load(std::shared_ptr<const gguf::File> file, const LoraAdapter* adapter = nullptr);
    // Bytes of weights read for one token (matrices only, the embedding row excluded).
    uint64_t weight_bytes_per_token() const;
};

}  // namespace rockllm
