// Byte-level BPE tokenizer (GPT-2 style, "gpt2" vocabularies: Llama 3, Qwen, DeepSeek, Falcon, ...):
// text is cut into words by the pre-tokenizer, each word's bytes are mapped to printable characters,
// and the merges are applied lowest rank first; decoding maps the characters back to bytes.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/tokenizer.h"

namespace rockllm {

class BpeTokenizer : public Tokenizer {
public:
    explicit BpeTokenizer(Vocabulary vocab);

protected:
    std::string text_piece(int32_t id) const override;
    void encode_fragment(std::string text, bool first, std::vector<int32_t>& out) const override;

private:
    void encode_word(const std::string& word, std::vector<int32_t>& out) const;
    int rank(const std::string& left, const std::string& right) const;

    PreTokenizer pre_;
    std::unordered_map<std::string, int32_t> token_ids_;
    std::unordered_map<std::string, int> merge_ranks_;  // "left right" -> rank
};

// GPT-2's reversible byte <-> character mapping: printable bytes map to themselves, the others to
// code points from U+0100 on. Returned as the UTF-8 of each byte's character.
const std::vector<std::string>& byte_to_unicode();

}  // namespace rockllm
