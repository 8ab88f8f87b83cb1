// SentencePiece tokenizer ("llama" vocabularies): the GGUF vocabulary is turned into a SentencePiece
// model that the sentencepiece library encodes with, configured to behave exactly as llama.cpp:
// no whitespace collapsing, a space put in front of text at the start or after a special token,
// byte fallback to <0xXX> pieces, and special tokens split out before encoding.
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

    std::vector<int32_t> encode(std::string_view text, bool add_special, bool parse_special) const override;

protected:
    std::string text_piece(int32_t id) const override;

private:
    void encode_text(std::string text, std::vector<int32_t>& out) const;

    std::unique_ptr<sentencepiece::SentencePieceProcessor> processor_;
};

// The serialized SentencePiece ModelProto for a vocabulary (exposed for tests).
std::string build_sentencepiece_model(const Vocabulary& vocab);

}  // namespace rockllm
