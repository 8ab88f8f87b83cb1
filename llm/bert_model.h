// The weights of a BERT-family encoder, the models behind embeddings: "bert" (all-minilm, bge,
// mxbai-embed-large, snowflake-arctic-embed) and "nomic-bert" (nomic-embed-text), with the tensor
// names and hyper-parameters llama.cpp's converter writes. The forward pass is llm/bert_encoder.h.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "embedding.h"
#include "gguf.h"
#include "weights.h"

namespace rockllm {

struct BertConfig {
    std::string architecture;  // "bert" or "nomic-bert"
    int64_t n_vocab = 0;
    int64_t n_ctx_train = 0;  // the positions the model was trained for (bert: its position embeddings)
    int64_t n_embd = 0;
    int64_t n_layer = 0;
    int64_t n_head = 0;
    int64_t head_dim = 0;
    int64_t n_ff = 0;
    float norm_eps = 1e-12f;  // of every LayerNorm
    // nomic-bert: rotary positions (NeoX pairs over whole heads) instead of position embeddings, a
    // SwiGLU feed-forward instead of GELU, and no biases on its matrices.
    bool rotary = false;
    float rope_freq_base = 10000.0f;
    Pooling pooling = Pooling::Cls;
};

// Throws gguf::FormatError naming the key that is missing or invalid.
BertConfig read_bert_config(const gguf::File& file);

struct BertLayer {
    WeightMatrix wq, wk, wv, wo;
    std::vector<float> bq, bk, bv, bo;          // empty in nomic-bert
    std::vector<float> attn_norm, attn_norm_b;  // LayerNorm of (input + attention)
    WeightMatrix ffn_gate;                      // nomic-bert's SwiGLU only
    WeightMatrix ffn_up, ffn_down;
    std::vector<float> ffn_up_b, ffn_down_b;    // empty in nomic-bert
    std::vector<float> out_norm, out_norm_b;    // LayerNorm of (that + feed-forward)
};

// One tensor of a block, "blk.N." + name in the file: a vector (a norm's weights, a bias) or a
// matrix, either of which a fused tensor splits into equal parts (attn_qkv into q, k and v).
struct BertTensor {
    std::string name;
    int64_t cols = 0;
    int64_t rows = 1;
    std::vector<std::vector<float> BertLayer::*> vectors;
    std::vector<WeightMatrix BertLayer::*> matrices;
};

// The tensors of every block, in file order; fused_qkv: one attn_qkv tensor (as nomic-bert's
// converter writes it) instead of attn_q, attn_k and attn_v.
std::vector<BertTensor> bert_layer_tensors(const BertConfig& config, bool fused_qkv);

struct BertModel {
    std::shared_ptr<const gguf::File> file;  // keeps the mapping the weight views point into
    BertConfig config;
    WeightMatrix token_embedding;
    std::vector<float> token_type;       // row 0 of token_types ("sentence A"), added to every token
    WeightMatrix position_embedding;     // bert's absolute positions; rows == 0 in nomic-bert
    std::vector<float> embd_norm, embd_norm_b;
    std::vector<BertLayer> layers;
    std::vector<std::shared_ptr<uint8_t[]>> repacked;  // matrices copied into the CPU kernels' layouts

    static BertModel load(std::shared_ptr<const gguf::File> file);
};

// Each matrix of a layer, with the products that share an input together: q/k/v, the output
// projection, gate/up, down.
struct BertMatrixGroup {
    const char* name;
    std::vector<WeightMatrix BertLayer::*> parts;
};
std::vector<BertMatrixGroup> bert_matrix_groups(const BertConfig& config);

}  // namespace rockllm
