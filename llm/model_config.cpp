#include "model_config.h"

#include <cmath>

namespace rockllm {

int64_t positive_metadata(const gguf::Metadata& meta, const std::string& key, int64_t limit) {
    const auto value = meta.get<int64_t>(key);
    if (value <= 0 || value > limit)
        throw gguf::FormatError("GGUF metadata '" + key + "' = " + std::to_string(value) + " is outside 1.." +
                                std::to_string(limit));
    return value;
}

ModelConfig read_model_config(const gguf::File& file) {
    const gguf::Metadata& meta = file.metadata();
    ModelConfig c;
    c.architecture = meta.get<std::string>("general.architecture");
    const ArchitectureTraits* traits = find_architecture(c.architecture);
    if (!traits && is_encoder_architecture(c.architecture))
        throw gguf::FormatError("'" + c.architecture + "' is an embedding model (an encoder): it makes embeddings, not text");
    if (!traits)
        throw gguf::FormatError("architecture '" + c.architecture + "' is not supported (supported: " +
                                supported_architectures() + ")");
    c.traits = *traits;
    const std::string a = c.architecture + ".";

    // Limits keep every derived buffer size far from overflow while allowing any real model.
    constexpr int64_t kMaxWidth = int64_t{1} << 20;
    c.n_embd = positive_metadata(meta, a + "embedding_length", kMaxWidth);
    c.n_layer = positive_metadata(meta, a + "block_count", 4096);
    c.n_ff = positive_metadata(meta, a + "feed_forward_length", kMaxWidth);
    c.n_head = positive_metadata(meta, a + "attention.head_count", 4096);
    c.n_head_kv = meta.contains(a + "attention.head_count_kv") ? positive_metadata(meta, a + "attention.head_count_kv", 4096)
                                                                : c.n_head;
    c.n_ctx_train = positive_metadata(meta, a + "context_length", int64_t{1} << 24);
    if (c.n_head % c.n_head_kv != 0)
        throw gguf::FormatError("head_count " + std::to_string(c.n_head) + " is not a multiple of head_count_kv " +
                                std::to_string(c.n_head_kv));
    c.head_dim = meta.contains(a + "attention.key_length") ? positive_metadata(meta, a + "attention.key_length", 65536)
                                                            : c.n_embd / c.n_head;
    if (!meta.contains(a + "attention.key_length") && c.n_embd % c.n_head != 0)
        throw gguf::FormatError("embedding_length is not a multiple of head_count");
    c.rope_dim = meta.contains(a + "rope.dimension_count") ? positive_metadata(meta, a + "rope.dimension_count", c.head_dim)
                                                            : c.head_dim;
    if (c.rope_dim % 2 != 0) throw gguf::FormatError("rope.dimension_count must be even");
    c.rope_freq_base = meta.get_or<float>(a + "rope.freq_base", 10000.0f);
    c.rms_norm_eps = meta.get_or<float>(a + "attention.layer_norm_rms_epsilon", 1e-5f);
    if (!(c.rope_freq_base > 0.0f) || !(c.rms_norm_eps >= 0.0f))
        throw gguf::FormatError("rope.freq_base or layer_norm_rms_epsilon is not a positive number");
    const std::string scaling = meta.get_or<std::string>(a + "rope.scaling.type", "none");
    const float factor = meta.get_or<float>(a + "rope.scaling.factor", 1.0f);
    if (scaling == "linear" && factor > 0.0f) c.rope_freq_scale = 1.0f / factor;

    c.attention_scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
    if ((c.architecture == "gemma2" && c.n_layer == 46) || (c.architecture == "gemma3" && c.n_layer == 62)) {
        // The 27B Gemmas scale queries by 1/sqrt(n_embd / n_head) (query_pre_attn_scalar), as llama.cpp does.
        c.attention_scale = 1.0f / std::sqrt(static_cast<float>(c.n_embd / c.n_head));
    }
    // Granite's multipliers (absent elsewhere); attention.scale replaces 1/sqrt(head_dim).
    if (const float scale = meta.get_or<float>(a + "attention.scale", 0.0f); scale != 0.0f) c.attention_scale = scale;
    c.embedding_scale = meta.get_or<float>(a + "embedding_scale", 1.0f);
    c.residual_scale = meta.get_or<float>(a + "residual_scale", 1.0f);
    c.logit_scale = meta.get_or<float>(a + "logit_scale", 1.0f);
    for (const float v : {c.attention_scale, c.embedding_scale, c.residual_scale, c.logit_scale})
        if (!std::isfinite(v) || v == 0.0f) throw gguf::FormatError("an attention, embedding, residual or logit scale is zero or not a number");
    c.attn_logit_softcap = meta.get_or<float>(a + "attn_logit_softcapping", 0.0f);
    c.final_logit_softcap = meta.get_or<float>(a + "final_logit_softcapping", 0.0f);
    if (c.traits.swa_pattern > 0)
        c.sliding_window = meta.get_or<int64_t>(a + "attention.sliding_window", 0);
    if (c.attn_logit_softcap < 0 || c.final_logit_softcap < 0 || c.sliding_window < 0)
        throw gguf::FormatError("softcapping values and the sliding window must not be negative");

    if (c.traits.experts) {
        c.n_expert = positive_metadata(meta, a + "expert_count", 4096);
        c.n_expert_used = positive_metadata(meta, a + "expert_used_count", c.n_expert);
        // Without the key, the experts' tensors say it (Granite's experts are feed_forward_length wide).
        const gguf::TensorInfo* up = file.find_tensor("blk.0.ffn_up_exps.weight");
        c.n_ff_expert = meta.contains(a + "expert_feed_forward_length") ? positive_metadata(meta, a + "expert_feed_forward_length", kMaxWidth)
                        : up && up->shape.size() == 3                    ? up->shape[1]
                                                                         : c.n_ff / c.n_expert_used;
        if (c.n_ff_expert <= 0) throw gguf::FormatError("the experts' feed-forward width is zero");
    }

    // The vocabulary size is the token embedding's row count; vocab_size, when present, must agree.
    const gguf::TensorInfo* embd = file.find_tensor("token_embd.weight");
    if (!embd || embd->shape.size() != 2)
        throw gguf::FormatError("tensor 'token_embd.weight' is missing or not 2-dimensional");
    c.n_vocab = embd->shape[1];
    if (c.n_vocab <= 0 || c.n_vocab > (int64_t{1} << 24))
        throw gguf::FormatError("tensor 'token_embd.weight' has " + std::to_string(c.n_vocab) + " rows: a vocabulary needs 1 to 2^24 tokens");
    if (meta.contains(a + "vocab_size") && meta.get<int64_t>(a + "vocab_size") != c.n_vocab)
        throw gguf::FormatError("vocab_size disagrees with the token embedding's shape");
    return c;
}

}  // namespace rockllm
