#include "vocabulary.h"

namespace rockllm {

namespace {

std::optional<int32_t> token_id(const gguf::Metadata& meta, const std::string& key, int32_t vocab_size,
                                std::optional<int32_t> fallback) {
    if (!meta.contains(key)) return fallback;
    // Some converters write -1 (as a wrapped uint32) for "no such token".
    const auto raw = meta.get<int64_t>(key);
    if (raw == -1 || raw == 0xffffffffLL) return std::nullopt;
    if (raw < 0 || raw >= vocab_size)
        throw gguf::FormatError("GGUF metadata '" + key + "' = " + std::to_string(raw) +
                                " is not a token id (vocabulary size " + std::to_string(vocab_size) + ")");
    return static_cast<int32_t>(raw);
}

}  // namespace

std::vector<int32_t> Vocabulary::end_of_generation_ids() const {
    std::vector<int32_t> ids;
    if (eos_id) ids.push_back(*eos_id);
    if (eot_id && eot_id != eos_id) ids.push_back(*eot_id);
    return ids;
}

Vocabulary read_vocabulary(const gguf::File& file) {
    const gguf::Metadata& meta = file.metadata();
    Vocabulary v;
    v.model = meta.get<std::string>("tokenizer.ggml.model");
    v.pre = meta.get_or<std::string>("tokenizer.ggml.pre", "default");
    v.tokens = meta.get<std::vector<std::string>>("tokenizer.ggml.tokens");
    if (v.tokens.empty()) throw gguf::FormatError("GGUF metadata 'tokenizer.ggml.tokens' is empty");
    if (v.tokens.size() > static_cast<size_t>(INT32_MAX))
        throw gguf::FormatError("GGUF metadata 'tokenizer.ggml.tokens' has too many entries");
    const size_t n = v.tokens.size();

    v.scores = meta.get_or<std::vector<float>>("tokenizer.ggml.scores", std::vector<float>(n, 0.0f));
    if (v.scores.size() != n)
        throw gguf::FormatError("GGUF metadata 'tokenizer.ggml.scores' has " + std::to_string(v.scores.size()) +
                                " entries for " + std::to_string(n) + " tokens");
    const auto raw_types = meta.get_or<std::vector<int32_t>>("tokenizer.ggml.token_type", std::vector<int32_t>(n, 1));
    if (raw_types.size() != n)
        throw gguf::FormatError("GGUF metadata 'tokenizer.ggml.token_type' has " + std::to_string(raw_types.size()) +
                                " entries for " + std::to_string(n) + " tokens");
    v.types.reserve(n);
    for (size_t i = 0; i < n; ++i) {
        if (raw_types[i] < 1 || raw_types[i] > 6)
            throw gguf::FormatError("GGUF metadata 'tokenizer.ggml.token_type' entry " + std::to_string(i) +
                                    " has unknown type " + std::to_string(raw_types[i]));
        v.types.push_back(static_cast<TokenType>(raw_types[i]));
    }
    v.merges = meta.get_or<std::vector<std::string>>("tokenizer.ggml.merges", {});

    const bool spm = v.model == "llama";
    const bool wordpiece = v.model == "bert";  // BERT's defaults as llama.cpp has them: [CLS] 101, [SEP] 102, [UNK] 100
    const int32_t size = v.size();
    const auto fallback = [](bool applies, int32_t id) { return applies ? std::optional<int32_t>(id) : std::nullopt; };
    v.bos_id = token_id(meta, "tokenizer.ggml.bos_token_id", size, fallback(spm, 1));
    if (wordpiece && !v.bos_id) v.bos_id = token_id(meta, "tokenizer.ggml.cls_token_id", size, 101);
    v.eos_id = token_id(meta, "tokenizer.ggml.eos_token_id", size, fallback(spm, 2));
    v.unk_id = token_id(meta, "tokenizer.ggml.unknown_token_id", size, spm ? std::optional<int32_t>(0) : fallback(wordpiece, 100));
    // The converter's key is spelled so.
    v.sep_id = token_id(meta, "tokenizer.ggml.seperator_token_id", size, fallback(wordpiece, 102));
    v.pad_id = token_id(meta, "tokenizer.ggml.padding_token_id", size, std::nullopt);
    v.eot_id = token_id(meta, "tokenizer.ggml.eot_token_id", size, std::nullopt);
    if (v.bos_id && !v.is_valid(*v.bos_id)) v.bos_id.reset();
    if (v.eos_id && !v.is_valid(*v.eos_id)) v.eos_id.reset();
    if (v.unk_id && !v.is_valid(*v.unk_id)) v.unk_id.reset();
    if (v.sep_id && !v.is_valid(*v.sep_id)) v.sep_id.reset();
    v.add_bos = meta.get_or<bool>("tokenizer.ggml.add_bos_token", spm || wordpiece);
    v.add_eos = meta.get_or<bool>("tokenizer.ggml.add_eos_token", false);
    v.add_sep = meta.get_or<bool>("tokenizer.ggml.add_sep_token", wordpiece);
    const bool unigram = v.model == "t5";
    v.add_space_prefix = meta.get_or<bool>("tokenizer.ggml.add_space_prefix", spm || wordpiece || unigram);
    if (unigram) {
        // An array of bytes; some converters write them signed.
        for (int64_t byte : meta.get_or<std::vector<int64_t>>("tokenizer.ggml.precompiled_charsmap", {}))
            v.precompiled_charsmap.push_back(static_cast<char>(byte));
        v.remove_extra_whitespaces = meta.get_or<bool>("tokenizer.ggml.remove_extra_whitespaces", false);
    }
    return v;
}

}  // namespace rockllm
