#include "model.h"

namespace rockllm {

Model Model::load(std::shared_ptr<const gguf::File> file) {
    Model m;
    m.config = read_model_config(*file);
    const ModelConfig& c = m.config;
    const gguf::File& f = *file;

    m.token_embedding = load_matrix(f, "token_embd.weight", c.n_embd, c.n_vocab);
    for (int64_t i = 0; i < c.n_layer; ++i) {
        const std::string p = "blk." + std::to_string(i) + ".";
        LayerWeights layer;
        layer.attn_norm = load_vector(f, p + "attn_norm.weight", c.n_embd);
        if (c.traits.fused_qkv) {
            const WeightMatrix qkv = load_matrix(f, p + "attn_qkv.weight", c.n_embd, c.q_dim() + 2 * c.kv_dim());
            layer.wq = qkv.rows_view(0, c.q_dim());
            layer.wk = qkv.rows_view(c.q_dim(), c.kv_dim());
            layer.wv = qkv.rows_view(c.q_dim() + c.kv_dim(), c.kv_dim());
        } else {
            layer.wq = load_matrix(f, p + "attn_q.weight", c.n_embd, c.q_dim());
            layer.wk = load_matrix(f, p + "attn_k.weight", c.n_embd, c.kv_dim());
            layer.wv = load_matrix(f, p + "attn_v.weight", c.n_embd, c.kv_dim());
        }
        layer.wo = load_matrix(f, p + "attn_output.weight", c.q_dim(), c.n_embd);
        if (c.traits.qkv_bias) {
            layer.bq = load_vector(f, p + "attn_q.bias", c.q_dim());
            layer.bk = load_vector(f, p + "attn_k.bias", c.kv_dim());
            layer.bv = load_vector(f, p + "attn_v.bias", c.kv_dim());
        }
        if (c.traits.qk_norm) {
            layer.q_norm = load_vector(f, p + "attn_q_norm.weight", c.head_dim);
            layer.k_norm = load_vector(f, p + "attn_k_norm.weight", c.head_dim);
        }
        layer.ffn_norm = load_vector(f, p + "ffn_norm.weight", c.n_embd);
        if (c.traits.fused_gate_up) {
            const WeightMatrix gate_up = load_matrix(f, p + "ffn_up.weight", c.n_embd, 2 * c.n_ff);
            layer.ffn_gate = gate_up.rows_view(0, c.n_ff);
            layer.ffn_up = gate_up.rows_view(c.n_ff, c.n_ff);
        } else {
            layer.ffn_gate = load_matrix(f, p + "ffn_gate.weight", c.n_embd, c.n_ff);
            layer.ffn_up = load_matrix(f, p + "ffn_up.weight", c.n_embd, c.n_ff);
        }
        layer.ffn_down = load_matrix(f, p + "ffn_down.weight", c.n_ff, c.n_embd);
        if (c.traits.post_norms) {
            layer.post_attention_norm = load_vector(f, p + "post_attention_norm.weight", c.n_embd);
            layer.post_ffn_norm = load_vector(f, p + "post_ffw_norm.weight", c.n_embd);
        }
        m.layers.push_back(std::move(layer));
    }
    m.output_norm = load_vector(f, "output_norm.weight", c.n_embd);
    // Models with tied embeddings reuse the token embedding as the output projection.
    m.output = f.find_tensor("output.weight") ? load_matrix(f, "output.weight", c.n_embd, c.n_vocab)
                                              : m.token_embedding;
    const std::string a = c.architecture + ".";
    if (f.find_tensor("rope_freqs.weight")) m.rope_factors = load_vector(f, "rope_freqs.weight", c.rope_dim / 2);
    if (f.find_tensor("rope_factors_short.weight")) {
        m.rope_factors = load_vector(f, "rope_factors_short.weight", c.rope_dim / 2);
        m.rope_factors_long = load_vector(f, "rope_factors_long.weight", c.rope_dim / 2);
        m.rope_original_context = f.metadata().get_or<int64_t>(a + "rope.scaling.original_context_length", c.n_ctx_train);
        m.rope_attn_factor = f.metadata().get_or<float>(a + "rope.scaling.attn_factor", 1.0f);
    }
    for (const float factor : m.rope_factors)
        if (!(factor > 0.0f)) throw gguf::FormatError("RoPE frequency factors must be positive");
    for (const float factor : m.rope_factors_long)
        if (!(factor > 0.0f)) throw gguf::FormatError("RoPE frequency factors must be positive");
    m.file = std::move(file);
    return m;
}

uint64_t Model::weight_bytes_per_token() const {
    uint64_t total = output.row_bytes * static_cast<uint64_t>(output.rows);
    for (const LayerWeights& l : layers)
        for (const WeightMatrix* w : {&l.wq, &l.wk, &l.wv, &l.wo, &l.ffn_gate, &l.ffn_up, &l.ffn_down})
            total += w->row_bytes * static_cast<uint64_t>(w->rows);
    return total;
}

}  // namespace rockllm
