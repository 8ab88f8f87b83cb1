// Writes GGUF files with the exact shapes and metadata of real models but random weights, so speed
// and memory can be measured at realistic sizes without downloading anything.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rockllm {

struct SyntheticShape {
    std::string name;
    std::string architecture;
    int64_t n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_vocab, n_ctx;
    float rope_freq_base;
    bool tied_embeddings;
    uint32_t pooling_type = 0;  // embedding models' "<arch>.pooling_type" (1 mean, 2 CLS); 0: none written
    int64_t n_expert = 0, n_expert_used = 0, n_ff_expert = 0;  // a mixture of experts' FFN
};

const std::vector<SyntheticShape>& synthetic_shapes();
// Throws std::invalid_argument listing the known names.
const SyntheticShape& find_synthetic_shape(const std::string& name);

// Decoders get a SentencePiece-style vocabulary, BERT-family encoders a WordPiece one; the tensors
// are those the loaders read (llm/layer_tensors.h, llm/bert_model.h).
// quant: a tensor type name (F32, F16, Q8_0, Q4_0, Q4_K, Q6_K, ...) used for every matrix, or a
// llama.cpp file mix: Q4_K_M (Q4_K, with Q6_K for the output and for attn_v/ffn_down in a
// subset of layers) or Q5_K_M, or MIXED (the matrices take eight types in turn, several within each
// layer). Norms stay F32.
void write_synthetic_model(const SyntheticShape& shape, const std::string& quant, uint64_t seed,
                           const std::string& path);

}  // namespace rockllm
