#include "model.h"

#include <set>

#include "layer_tensors.h"

namespace rockllm {

Model Model::load(std::shared_ptr<const gguf::File> file, const LoraAdapter* adapter) {
    Model m;
    m.config = read_model_config(*file);
    const ModelConfig& c = m.config;
    const gguf::File& f = *file;
    std::set<std::string> adapted;
    const auto load_matrix = [&](const gguf::File& from, const std::string& name, int64_t cols, int64_t rows) {
        const WeightMatrix w = rockllm::load_matrix(from, name, cols, rows);
        if (!adapter || !adapter->adapts(name)) return w;
        adapted.insert(name);
        return adapter->merged(w, m.repacked);
    };

    m.token_embedding = load_matrix(f, "token_embd.weight", c.n_embd, c.n_vocab);
    const std::vector<LayerTensor> tensors = layer_tensors(c);
    for (int64_t i = 0; i < c.n_layer; ++i) {
        const std::string p = "blk." + std::to_string(i) + ".";
        LayerWeights layer;
        for (const LayerTensor& t : tensors) {
            if (t.vector) {
                layer.*t.vector = load_vector(f, p + t.name, t.cols);
                continue;
            }
            if (t.experts) {
                layer.*t.experts = load_matrices(f, p + t.name, t.cols, t.rows, t.n_experts);
                continue;
            }
            const WeightMatrix whole = load_matrix(f, p + t.name, t.cols, t.rows);
            int64_t first = 0;
            for (size_t part = 0; part < t.parts.size(); ++part) {
                layer.*t.parts[part] = t.parts.size() == 1 ? whole : whole.rows_view(first, t.part_rows[part]);
                first += t.part_rows[part];
            }
        }
        m.layers.push_back(std::move(layer));
    }
    m.output_norm = load_vector(f, "output_norm.weight", c.n_embd);
    // Models with tied embeddings reuse the token embedding as the output projection.
    m.output = f.find_tensor("output.weight") ? load_matrix(f, "output.weight", c.n_embd, c.n_vocab)
                                              : m.token_embedding;
    if (adapter)
        for (const std::string& name : adapter->adapted_tensors())
            if (!adapted.count(name)) throw gguf::FormatError("the adapter changes '" + name + "', which the model does not have");
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
    for (const LayerWeights& l : layers) {
        for_each_matrix(l, [&](const WeightMatrix& w) { total += w.row_bytes * static_cast<uint64_t>(w.rows); });
        // A token reads the router and expert_used_count of the experts.
        total += l.ffn_router.row_bytes * static_cast<uint64_t>(l.ffn_router.rows);
        uint64_t experts = 0;
        for_each_expert_matrix(l, [&](const WeightMatrix& w) { experts += w.row_bytes * static_cast<uint64_t>(w.rows); });
        if (config.n_expert > 0) total += experts / static_cast<uint64_t>(config.n_expert) * static_cast<uint64_t>(config.n_expert_used);
    }
    return total;
}

}  // namespace rockllm
