// SentencePiece tokenizers: the GGUF vocabulary is turned into a SentencePiece model that the
// sentencepiece library encodes with. "llama" vocabularies (BPE) are configured to behave exactly as
// llama.cpp: no whitespace collapsing, a space put in front of text at the start or after a special
// token, byte fallback to <0xXX> pieces. "t5" vocabularies (unigram: T5, XLM-RoBERTa, bge-m3) keep
// the normalizer they were trained with (character map, whitespace rules, the dummy prefix). In
// both, special tokens are split out before encoding.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace rockllm {

class SpmTokenizer : public Tokenizer {
public:
    explicit SpmTokenizer(Vocabulary vocab);
    ~SpmTokenizer() override;

protected:
    std::string text_piece(int32_t id) const override;
    // BPE: text at the start, or right after a special token, gets a leading space (add_space_prefix);
    // unigram: the normalizer adds it to every piece of text.
    void encode_fragment(std::string text, bool first, std::vector<int32_t>& out) const override;

private:

    std::unique_ptr<sentencepiece::SentencePieceProcessor> processor_;
};

// The serialized SentencePiece ModelProto for a vocabulary (exposed for tests).
std::string build_sentencepiece_model(const Vocabulary& vocab);

}  // namespace rockllm
