#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <stdexcept>

#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/spm_tokenizer.h"
#include "tokenizer/wordpiece_tokenizer.h"

namespace rockllm {

Tokenizer::Tokenizer(Vocabulary vocab) : vocab_(std::move(vocab)) {
    for (int32_t id = 0; id < vocab_.size(); ++id) {
        const TokenType type = vocab_.types[id];
        if ((type == TokenType::Control || type == TokenType::UserDefined || type == TokenType::Unknown) &&
            !vocab_.tokens[id].empty())
            special_tokens_.emplace_back(vocab_.tokens[id], id);
    }
    std::stable_sort(special_tokens_.begin(), special_tokens_.end(),
                     [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
}

std::vector<Tokenizer::Fragment> Tokenizer::split_special_tokens(std::string_view text, bool parse_special) const {
    std::vector<Fragment> fragments;
    if (!text.empty()) fragments.push_back({std::string(text), -1});
    for (const auto& [special, id] : special_tokens_) {
        if (!parse_special && vocab_.types[id] != TokenType::UserDefined) continue;
        std::vector<Fragment> next;
        for (Fragment& f : fragments) {
            if (f.token >= 0) {
                next.push_back(std::move(f));
                continue;
            }
            size_t start = 0;
            for (size_t hit = f.text.find(special); hit != std::string::npos; hit = f.text.find(special, start)) {
                if (hit > start) next.push_back({f.text.substr(start, hit - start), -1});
                next.push_back({"", id});
                start = hit + special.size();
            }
            if (start < f.text.size()) next.push_back({f.text.substr(start), -1});
        }
        fragments = std::move(next);
    }
    return fragments;
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
    std::vector<int32_t> out;
    if (add_special && vocab_.add_bos && vocab_.bos_id) out.push_back(*vocab_.bos_id);
    bool first = true;
    for (Fragment& f : split_special_tokens(text, parse_special)) {
        if (f.token >= 0) {
            out.push_back(f.token);
            first = true;
        } else if (!f.text.empty()) {
            encode_fragment(std::move(f.text), first, out);
            first = false;
        }
    }
    if (add_special && vocab_.add_sep && vocab_.sep_id) out.push_back(*vocab_.sep_id);
    if (add_special && vocab_.add_eos && vocab_.eos_id) out.push_back(*vocab_.eos_id);
    return out;
}

std::string Tokenizer::token_to_piece(int32_t id, bool render_special) const {
    if (!vocab_.is_valid(id)) throw std::out_of_range("token id " + std::to_string(id) + " is outside the vocabulary");
    switch (vocab_.types[id]) {
        case TokenType::Normal:
        case TokenType::Byte: return text_piece(id);
        case TokenType::UserDefined: return vocab_.tokens[id];
        case TokenType::Control:
        case TokenType::Unknown: return render_special ? vocab_.tokens[id] : std::string();
        case TokenType::Unused: return std::string();
    }
    return std::string();
}

std::vector<std::string> Tokenizer::all_pieces() const {
    std::vector<std::string> pieces;
    pieces.reserve(static_cast<size_t>(vocab_.size()));
    for (int32_t id = 0; id < vocab_.size(); ++id) pieces.push_back(token_to_piece(id));
    return pieces;
}

std::string Tokenizer::decode(std::span<const int32_t> ids) const {
    std::string text;
    for (int32_t id : ids) text += token_to_piece(id);
    if (vocab_.add_space_prefix && !text.empty() && text.front() == ' ') text.erase(0, 1);
    return text;
}

std::unique_ptr<Tokenizer> load_tokenizer(const gguf::File& file) { return make_tokenizer(read_vocabulary(file)); }

void check_vocabulary_size(const Tokenizer& tokenizer, int64_t n_vocab) {
    if (tokenizer.vocabulary().size() != n_vocab)
        throw gguf::FormatError("the vocabulary has " + std::to_string(tokenizer.vocabulary().size()) +
                                " tokens but the model's embedding has " + std::to_string(n_vocab));
}

std::unique_ptr<Tokenizer> make_tokenizer(Vocabulary vocab) {
    if (vocab.model == "llama" || vocab.model == "t5") return std::make_unique<SpmTokenizer>(std::move(vocab));
    if (vocab.model == "gpt2") return std::make_unique<BpeTokenizer>(std::move(vocab));
    if (vocab.model == "bert") return std::make_unique<WordPieceTokenizer>(std::move(vocab));
    throw std::runtime_error("tokenizer kind '" + vocab.model + "' (tokenizer.ggml.model) is not supported yet");
}

}  // namespace rockllm
