// Hyper-parameters of a decoder-only transformer, read from GGUF metadata, and the per-architecture
// switches (architectures.cpp) that tell the architectures apart.
#pragma once

#include <cstdint>
#include <string>

#include "gguf.h"

namespace rockllm {

enum class RopeStyle {
    Interleaved,  // rotates pairs (x[2i], x[2i+1]): llama ("normal" in ggml)
    Halves,       // rotates pairs (x[i], x[i + d/2]): GPT-NeoX style, used by qwen, gemma, phi3
};

enum class Activation { SiLU, GeLU };  // gate activation of the gated FFN (GeLU: tanh approximation)

struct ArchitectureTraits {
    const char* name;
    RopeStyle rope = RopeStyle::Interleaved;
    Activation activation = Activation::SiLU;
    bool qkv_bias = false;        // attn_q/k/v.bias tensors
    bool qk_norm = false;         // attn_q_norm / attn_k_norm: RMSNorm over each head of q and k,
    bool qk_norm_full = false;    // or over the whole of q and of k (OLMo 2, OLMoE)
    bool pre_norms = true;        // attn_norm / ffn_norm before attention and FFN (OLMo 2 has none)
    bool post_norms = false;      // post_attention_norm / post_ffw_norm on each block's output
    bool scale_embeddings = false;  // token embeddings multiplied by sqrt(n_embd)
    bool fused_qkv = false;       // one attn_qkv tensor instead of attn_q/k/v
    bool fused_gate_up = false;   // ffn_up holds gate and up rows, no ffn_gate tensor
    int swa_pattern = 0;          // with a sliding window: layer i is local when i % pattern < pattern - 1
                                  // (1: every layer is local)
    float local_rope_base = 0;    // RoPE base of local layers when it differs (gemma3), else 0
    int no_rope_every = 0;        // > 0: layer i has no RoPE when (i + 1) % no_rope_every == 0 (SmolLM3's NoPE layers)
    bool experts = false;         // a mixture-of-experts FFN: a router picks expert_used_count of expert_count
    bool normalize_expert_weights = false;  // the picked experts' router weights are scaled to sum to 1
};

// The BERT-family encoders of embedding models (llm/bert_model.h), which the decoder does not run.
bool is_encoder_architecture(const std::string& name);

// nullptr for an architecture this build does not run.
const ArchitectureTraits* find_architecture(const std::string& name);
std::string supported_architectures();

struct ModelConfig {
    std::string architecture;
    ArchitectureTraits traits{"llama"};
    int64_t n_vocab = 0;
    int64_t n_ctx_train = 0;  // context length the model was trained for
    int64_t n_embd = 0;
    int64_t n_layer = 0;
    int64_t n_head = 0;
    int64_t n_head_kv = 0;
    int64_t n_ff = 0;
    int64_t head_dim = 0;
    int64_t rope_dim = 0;  // leading dimensions of each head that RoPE rotates
    float rope_freq_base = 10000.0f;
    float rope_freq_scale = 1.0f;  // linear RoPE scaling (positions multiplied by this)
    float rms_norm_eps = 1e-5f;
    float attention_scale = 0;      // multiplies q·k; 1/sqrt(head_dim) unless the model says otherwise
    float attn_logit_softcap = 0;   // > 0: scores become cap * tanh(scores / cap)
    float final_logit_softcap = 0;  // > 0: the same on the output logits
    // Granite's multipliers: of the token embeddings, of each block's attention and FFN output
    // before it joins the residual stream, and the divisor of the logits (1: none).
    float embedding_scale = 1.0f, residual_scale = 1.0f, logit_scale = 1.0f;
    int64_t sliding_window = 0;     // > 0: local layers attend to this many most recent positions
    int64_t n_expert = 0;           // mixture of experts: experts per layer,
    int64_t n_expert_used = 0;      // how many of them each token runs,
    int64_t n_ff_expert = 0;        // and each expert's FFN width

    int64_t q_dim() const { return n_head * head_dim; }
    int64_t kv_dim() const { return n_head_kv * head_dim; }
    bool uses_rope(int64_t layer) const {
        const int every = traits.no_rope_every;
        return every <= 0 || (layer + 1) % every != 0;
    }
    bool is_local_layer(int64_t layer) const {
        const int p = traits.swa_pattern;
        return sliding_window > 0 && p > 0 && (p == 1 || layer % p < p - 1);
    }
};

// A metadata integer that must lie in 1..limit; gguf::FormatError naming the key otherwise.
int64_t positive_metadata(const gguf::Metadata& meta, const std::string& key, int64_t limit);

// Reads "<arch>.*" keys; throws gguf::FormatError naming the key when one is missing or invalid.
ModelConfig read_model_config(const gguf::File& file);

}  // namespace rockllm
