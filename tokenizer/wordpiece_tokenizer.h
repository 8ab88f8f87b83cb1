// WordPiece tokenizer ("bert" vocabularies: BERT, nomic-bert, the embedding models of the
// all-minilm, bge and mxbai families), as Hugging Face's BertTokenizer with lowercasing: text is
// cleaned (control characters dropped, whitespace unified), CJK ideographs stand alone, accents are
// stripped (NFD without nonspacing marks), letters lowercased; words split at whitespace and at
// each punctuation character; each word becomes its longest vocabulary pieces from the left, or
// the unknown token when one piece cannot be found. The GGUF converter writes word-initial pieces
// with a "▁" in front and continuation pieces ("##x") without their "##".
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace rockllm {

class WordPieceTokenizer : public Tokenizer {
public:
    explicit WordPieceTokenizer(Vocabulary vocab);

protected:
    std::string text_piece(int32_t id) const override;
    void encode_fragment(std::string text, bool first, std::vector<int32_t>& out) const override;

private:
    void encode_word(const std::vector<uint32_t>& word, std::vector<int32_t>& out) const;

    std::unordered_map<std::string, int32_t> token_ids_;
    size_t longest_token_ = 0;  // bytes
};

// The words of a text as the BERT normalizer and pre-tokenizer cut them (exposed for tests).
std::vector<std::vector<uint32_t>> bert_words(std::string_view text);

}  // namespace rockllm
