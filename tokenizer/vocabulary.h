// The tokenizer's vocabulary as stored in a GGUF file (tokenizer.ggml.*).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "llm/gguf.h"

namespace rockllm {

// Token types as GGUF stores them (the same numbering as SentencePiece's piece types).
enum class TokenType : int32_t { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 };

struct Vocabulary {
    // tokenizer.ggml.model: "llama" (SentencePiece BPE), "t5" (SentencePiece unigram: T5, XLM-RoBERTa),
    // "gpt2" (byte-level BPE), "bert" (WordPiece)
    std::string model;
    std::string pre;    // tokenizer.ggml.pre
    std::vector<std::string> tokens;
    std::vector<float> scores;
    std::vector<TokenType> types;
    std::vector<std::string> merges;

    std::optional<int32_t> bos_id, eos_id, unk_id, pad_id, eot_id;
    std::optional<int32_t> sep_id;  // BERT's [SEP], which ends an input (its bos is [CLS])
    bool add_bos = false;
    bool add_eos = false;
    bool add_sep = false;
    bool add_space_prefix = true;
    // Unigram vocabularies' normalizer: SentencePiece's compiled character map (NFKC and the like)
    // and whether runs of whitespace collapse, as the model was trained.
    std::string precompiled_charsmap;
    bool remove_extra_whitespaces = false;

    int32_t size() const { return static_cast<int32_t>(tokens.size()); }
    bool is_valid(int32_t id) const { return id >= 0 && id < size(); }
    // Tokens that end generation (EOS, and EOT when present).
    std::vector<int32_t> end_of_generation_ids() const;
};

// Reads and checks the vocabulary; errors name the offending key.
Vocabulary read_vocabulary(const gguf::File& file);

}  // namespace rockllm
