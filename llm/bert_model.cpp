#include "bert_model.h"

#include "model_config.h"

namespace rockllm {

BertConfig read_bert_config(const gguf::File& file) {
    const gguf::Metadata& meta = file.metadata();
    BertConfig c;
    c.architecture = meta.get<std::string>("general.architecture");
    if (!is_encoder_architecture(c.architecture))
        throw gguf::FormatError("architecture '" + c.architecture + "' is not a BERT-family encoder");
    const std::string a = c.architecture + ".";
    constexpr int64_t kMaxWidth = int64_t{1} << 20;  // as for decoders: far from any overflow
    c.n_embd = positive_metadata(meta, a + "embedding_length", kMaxWidth);
    c.n_layer = positive_metadata(meta, a + "block_count", 4096);
    c.n_ff = positive_metadata(meta, a + "feed_forward_length", kMaxWidth);
    c.n_head = positive_metadata(meta, a + "attention.head_count", 4096);
    c.n_ctx_train = positive_metadata(meta, a + "context_length", int64_t{1} << 24);
    if (c.n_embd % c.n_head != 0) throw gguf::FormatError("embedding_length is not a multiple of head_count");
    c.head_dim = c.n_embd / c.n_head;
    c.norm_eps = meta.get_or<float>(a + "attention.layer_norm_epsilon", 1e-12f);
    if (!(c.norm_eps >= 0.0f)) throw gguf::FormatError("attention.layer_norm_epsilon is not a number of at least 0");
    if (meta.get_or<bool>(a + "attention.causal", false))
        throw gguf::FormatError("'" + a + "attention.causal' is true: a causal BERT is not supported");
    c.rotary = c.architecture == "nomic-bert";
    if (c.rotary) {
        c.rope_freq_base = meta.get_or<float>(a + "rope.freq_base", 10000.0f);
        if (!(c.rope_freq_base > 0.0f)) throw gguf::FormatError("rope.freq_base is not a positive number");
        if (c.head_dim % 2 != 0) throw gguf::FormatError("rotary heads need an even head size");
    }
    c.pooling = pooling_for(file);
    const gguf::TensorInfo* embd = file.find_tensor("token_embd.weight");
    if (!embd || embd->shape.size() != 2) throw gguf::FormatError("tensor 'token_embd.weight' is missing or not 2-dimensional");
    c.n_vocab = embd->shape[1];
    if (c.n_vocab <= 0 || c.n_vocab > (int64_t{1} << 24))
        throw gguf::FormatError("tensor 'token_embd.weight' has " + std::to_string(c.n_vocab) + " rows: a vocabulary needs 1 to 2^24 tokens");
    return c;
}

std::vector<BertTensor> bert_layer_tensors(const BertConfig& c, bool fused_qkv) {
    using L = BertLayer;
    const int64_t d = c.n_embd;
    const bool biases = !c.rotary;
    std::vector<BertTensor> t;
    if (fused_qkv) {
        t.push_back({"attn_qkv.weight", d, 3 * d, {}, {&L::wq, &L::wk, &L::wv}});
        if (biases) t.push_back({"attn_qkv.bias", 3 * d, 1, {&L::bq, &L::bk, &L::bv}, {}});
    } else {
        for (auto [name, w, b] : {std::tuple{"attn_q", &L::wq, &L::bq}, std::tuple{"attn_k", &L::wk, &L::bk}, std::tuple{"attn_v", &L::wv, &L::bv}}) {
            t.push_back({std::string(name) + ".weight", d, d, {}, {w}});
            if (biases) t.push_back({std::string(name) + ".bias", d, 1, {b}, {}});
        }
    }
    t.push_back({"attn_output.weight", d, d, {}, {&L::wo}});
    if (biases) t.push_back({"attn_output.bias", d, 1, {&L::bo}, {}});
    t.push_back({"attn_output_norm.weight", d, 1, {&L::attn_norm}, {}});
    t.push_back({"attn_output_norm.bias", d, 1, {&L::attn_norm_b}, {}});
    if (c.rotary) t.push_back({"ffn_gate.weight", d, c.n_ff, {}, {&L::ffn_gate}});
    t.push_back({"ffn_up.weight", d, c.n_ff, {}, {&L::ffn_up}});
    if (biases) t.push_back({"ffn_up.bias", c.n_ff, 1, {&L::ffn_up_b}, {}});
    t.push_back({"ffn_down.weight", c.n_ff, d, {}, {&L::ffn_down}});
    if (biases) t.push_back({"ffn_down.bias", d, 1, {&L::ffn_down_b}, {}});
    t.push_back({"layer_output_norm.weight", d, 1, {&L::out_norm}, {}});
    t.push_back({"layer_output_norm.bias", d, 1, {&L::out_norm_b}, {}});
    return t;
}

std::vector<BertMatrixGroup> bert_matrix_groups(const BertConfig& c) {
    using L = BertLayer;
    std::vector<BertMatrixGroup> groups = {{"attn_qkv", {&L::wq, &L::wk, &L::wv}}, {"attn_output", {&L::wo}}};
    if (c.rotary) groups.push_back({"ffn_gate_up", {&L::ffn_gate, &L::ffn_up}});
    else groups.push_back({"ffn_up", {&L::ffn_up}});
    groups.push_back({"ffn_down", {&L::ffn_down}});
    return groups;
}

BertModel BertModel::load(std::shared_ptr<const gguf::File> file) {
    BertModel m;
    const gguf::File& f = *file;
    m.config = read_bert_config(f);
    const BertConfig& c = m.config;
    m.token_embedding = load_matrix(f, "token_embd.weight", c.n_embd, c.n_vocab);
    if (const gguf::TensorInfo* types = f.find_tensor("token_types.weight")) {
        // Every input is one segment, "sentence A": row 0 goes to every token.
        const int64_t rows = types->shape.size() == 2 ? types->shape[1] : 1;
        m.token_type.resize(static_cast<size_t>(c.n_embd));
        load_matrix(f, "token_types.weight", c.n_embd, rows).read_row(0, m.token_type);
    }
    if (!c.rotary) {
        // Position embeddings cover the trained context; the position of a token indexes them.
        const gguf::TensorInfo* positions = f.find_tensor("position_embd.weight");
        if (!positions || positions->shape.size() != 2) throw gguf::FormatError("tensor 'position_embd.weight' is missing or not 2-dimensional");
        if (positions->shape[1] < c.n_ctx_train)
            throw gguf::FormatError("tensor 'position_embd.weight' has fewer rows than the context length");
        m.position_embedding = load_matrix(f, "position_embd.weight", c.n_embd, positions->shape[1]);
    }
    m.embd_norm = load_vector(f, "token_embd_norm.weight", c.n_embd);
    m.embd_norm_b = load_vector(f, "token_embd_norm.bias", c.n_embd);

    const bool fused_qkv = f.find_tensor("blk.0.attn_qkv.weight") != nullptr;
    const std::vector<BertTensor> tensors = bert_layer_tensors(c, fused_qkv);
    for (int64_t i = 0; i < c.n_layer; ++i) {
        const std::string p = "blk." + std::to_string(i) + ".";
        BertLayer layer;
        for (const BertTensor& t : tensors) {
            const auto parts = static_cast<int64_t>(t.matrices.empty() ? t.vectors.size() : t.matrices.size());
            if (!t.vectors.empty()) {
                const std::vector<float> whole = load_vector(f, p + t.name, t.cols);
                const int64_t n = t.cols / parts;
                for (int64_t k = 0; k < parts; ++k) layer.*t.vectors[k] = std::vector<float>(whole.begin() + k * n, whole.begin() + (k + 1) * n);
                continue;
            }
            const WeightMatrix whole = load_matrix(f, p + t.name, t.cols, t.rows);
            const int64_t n = t.rows / parts;
            for (int64_t k = 0; k < parts; ++k) layer.*t.matrices[k] = parts == 1 ? whole : whole.rows_view(k * n, n);
        }
        m.layers.push_back(std::move(layer));
    }
    m.file = std::move(file);
    return m;
}

}  // namespace rockllm
