// Hyper-parameters of a decoder-only transformer, read from GGUF metadata.
#pragma once

#include <cstdint>
#include <string>

#include "gguf.h"

namespace rockllm {

struct ModelConfig {
    std::string architecture;
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
