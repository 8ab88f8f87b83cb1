// Text <-> token ids, built from the vocabulary inside a GGUF file.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/vocabulary.h"

namespace rockllm {

class Tokenizer {
public:
    virtual ~Tokenizer() = default;

    // add_special: add BOS/EOS (BERT: [CLS]/[SEP]) as the vocabulary asks. parse_special: text such
    // as "<s>" that spells a control token becomes that token (otherwise it is tokenized as text).
    std::vector<int32_t> encode(std::string_view text, bool add_special, bool parse_special) const;

    // The bytes a token stands for in generated text; control tokens give "" unless render_special.
    // A byte token gives one byte, which may be part of a multi-byte UTF-8 character.
    std::string token_to_piece(int32_t id, bool render_special = false) const;

    // token_to_piece of every token, by id (what constrained sampling matches against).
    std::vector<std::string> all_pieces() const;

    // The text of a sequence, as a prompt or an answer: special tokens dropped, and the space that
    // encoding put in front of the text removed again.
    std::string decode(std::span<const int32_t> ids) const;

    const Vocabulary& vocabulary() const { return vocab_; }

protected:
    explicit Tokenizer(Vocabulary vocab);

    // The text of a normal or byte token, in the tokenizer's own encoding of text.
    virtual std::string text_piece(int32_t id) const = 0;
    // Appends the tokens of a piece of text between special tokens (never empty); first: it starts
    // the text or follows a special token.
    virtual void encode_fragment(std::string text, bool first, std::vector<int32_t>& out) const = 0;

    // The text cut at special tokens: user-defined tokens always, control (and unknown) tokens only
    // when parse_special. Longest tokens are split out first, as llama.cpp does.
    struct Fragment {
        std::string text;
        int32_t token = -1;  // >= 0: a special token
    };
    std::vector<Fragment> split_special_tokens(std::string_view text, bool parse_special) const;

    Vocabulary vocab_;

private:
    std::vector<std::pair<std::string, int32_t>> special_tokens_;  // longest first
};

// Chooses the tokenizer from tokenizer.ggml.model; throws for a kind this build does not support.
std::unique_ptr<Tokenizer> load_tokenizer(const gguf::File& file);
std::unique_ptr<Tokenizer> make_tokenizer(Vocabulary vocab);

// Throws gguf::FormatError when the model's vocabulary (n_vocab rows of its embedding) and the
// tokenizer's do not have the same size.
void check_vocabulary_size(const Tokenizer& tokenizer, int64_t n_vocab);

}  // namespace rockllm
