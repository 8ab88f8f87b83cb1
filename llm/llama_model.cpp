#include "llama_model.h"

namespace rockllm {

LlamaModel LlamaModel::load(std::shared_ptr<const gguf::File> file) {
    LlamaModel m;
    m.config = read_model_config(*file);
    const ModelConfig& c = m.config;
    const gguf::File& f = *file;

    m.token_embedding = load_matrix(f, "token_embd.weight", c.n_embd, c.n_vocab);
    for (int64_t i = 0; i < c.n_layer; ++i) {
        const std::string p = "blk." + std::to_string(i) + ".";
        LlamaLayer layer;
        layer.attn_norm = load_vector(f, p + "attn_norm.weight", c.n_embd);
        layer.wq = load_matrix(f, p + "attn_q.weight", c.n_embd, c.q_dim());
        layer.wk = load_matrix(f, p + "attn_k.weight", c.n_embd, c.kv_dim());
        layer.wv = load_matrix(f, p + "attn_v.weight", c.n_embd, c.kv_dim());
        layer.wo = load_matrix(f, p + "attn_output.weight", c.q_dim(), c.n_embd);
        layer.ffn_norm = load_vector(f, p + "ffn_norm.weight", c.n_embd);
        layer.ffn_gate = load_matrix(f, p + "ffn_gate.weight", c.n_embd, c.n_ff);
        layer.ffn_up = load_matrix(f, p + "ffn_up.weight", c.n_embd, c.n_ff);
        layer.ffn_down = load_matrix(f, p + "ffn_down.weight", c.n_ff, c.n_embd);
        m.layers.push_back(std::move(layer));
    }
    m.output_norm = load_vector(f, "output_norm.weight", c.n_embd);
    // Models with tied embeddings reuse the token embedding as the output projection.
    m.output = f.find_tensor("output.weight") ? load_matrix(f, "output.weight", c.n_embd, c.n_vocab)
                                              : m.token_embedding;
    m.file = std::move(file);
    return m;
}

}  // namespace rockllm
