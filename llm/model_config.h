// Hyper-parameters of a decoder-only transformer, read from GGUF metadata, and the per-architecture
// switches (RoPE layout, biases, norms) that distinguish llama, qwen2 and qwen3.
#pragma once

#include <cstdint>
#include <string>

#include "gguf.h"

namespace rockllm {

enum class RopeStyle {
    Interleaved,  // rotates pairs (x[2i], x[2i+1]): llama ("normal" in ggml)
    Halves,       // rotates pairs (x[i], x[i + d/2]): GPT-NeoX style, used by qwen2/qwen3
};

struct ArchitectureTraits {
    const char* name;
    RopeStyle rope = RopeStyle::Interleaved;
    bool qkv_bias = false;  // attn_q/k/v.bias tensors
    bool qk_norm = false;   // attn_q_norm / attn_k_norm: RMSNorm over each head of q and k
};

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
    float rms_norm_eps = 1e-5f;

    int64_t q_dim() const { return n_head * head_dim; }
    int64_t kv_dim() const { return n_head_kv * head_dim; }
};

// Reads "<arch>.*" keys; throws gguf::FormatError naming the key when one is missing or invalid.
ModelConfig read_model_config(const gguf::File& file);

}  // namespace rockllm
