#include "tokenizer/wordpiece_tokenizer.h"

#include <algorithm>

#include "tokenizer/unicode_data.h"

namespace rockllm {

namespace {

const std::string kWordStart = "\xE2\x96\x81";  // "▁"
constexpr size_t kMaxWordCharacters = 100;       // a longer word is unknown, as in Hugging Face's WordPiece

// The CJK ideograph blocks BERT cuts into single characters (the ranges of Hugging Face's
// tokenizers, whose extension-B/C boundary is as it is there).
bool is_cjk_ideograph(uint32_t cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
           (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

bool is_bert_whitespace(uint32_t cp) { return cp == '\t' || cp == '\n' || cp == '\r' || unicode::is_whitespace(cp); }
bool is_bert_control(uint32_t cp) { return cp != '\t' && cp != '\n' && cp != '\r' && unicode::is_other(cp); }
// ASCII punctuation includes the symbols $+<=>^`|~, which Unicode files under S.
bool is_bert_punctuation(uint32_t cp) {
    return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126) ||
           unicode::is_punctuation(cp);
}

}  // namespace

std::vector<std::vector<uint32_t>> bert_words(std::string_view text) {
    std::vector<std::vector<uint32_t>> words(1);
    const auto end_word = [&] {
        if (!words.back().empty()) words.emplace_back();
    };
    std::vector<uint32_t> normalized;
    for (uint32_t cp : unicode::code_points(text)) {
        if (cp == 0 || cp == 0xFFFD || is_bert_control(cp)) continue;
        if (is_bert_whitespace(cp)) {
            end_word();
            continue;
        }
        normalized.clear();
        unicode::append_without_accents(normalized, cp);
        for (uint32_t c : normalized) {
            c = unicode::to_lower(c);
            if (is_bert_punctuation(c) || is_cjk_ideograph(c)) {
                end_word();
                words.back().push_back(c);
                words.emplace_back();
            } else {
                words.back().push_back(c);
            }
        }
    }
    if (words.back().empty()) words.pop_back();
    return words;
}

WordPieceTokenizer::WordPieceTokenizer(Vocabulary vocab) : Tokenizer(std::move(vocab)) {
    token_ids_.reserve(vocab_.tokens.size());
    for (int32_t id = 0; id < vocab_.size(); ++id) {
        if (vocab_.types[id] != TokenType::Normal) continue;
        token_ids_.emplace(vocab_.tokens[id], id);
        longest_token_ = std::max(longest_token_, vocab_.tokens[id].size());
    }
}

void WordPieceTokenizer::encode_word(const std::vector<uint32_t>& word, std::vector<int32_t>& out) const {
    const size_t before = out.size();
    if (word.size() <= kMaxWordCharacters) {
        // Byte offsets of the characters, so that pieces are cut at character boundaries.
        std::string text;
        std::vector<size_t> offsets;
        for (uint32_t c : word) {
            offsets.push_back(text.size());
            unicode::append_utf8(text, c);
        }
        offsets.push_back(text.size());
        for (size_t start = 0; start < word.size();) {
            const std::string prefix = start == 0 ? kWordStart : std::string();
            size_t found_end = 0;
            int32_t found = -1;
            for (size_t end = word.size(); end > start; --end) {
                const size_t bytes = offsets[end] - offsets[start];
                if (bytes + prefix.size() > longest_token_) continue;
                auto it = token_ids_.find(prefix + text.substr(offsets[start], bytes));
                if (it != token_ids_.end()) {
                    found = it->second;
                    found_end = end;
                    break;
                }
            }
            if (found < 0) {
                out.resize(before);
                break;
            }
            out.push_back(found);
            start = found_end;
        }
    }
    if (out.size() == before && vocab_.unk_id) out.push_back(*vocab_.unk_id);
}

void WordPieceTokenizer::encode_fragment(std::string text, bool, std::vector<int32_t>& out) const {
    for (const std::vector<uint32_t>& word : bert_words(text)) encode_word(word, out);
}

std::string WordPieceTokenizer::text_piece(int32_t id) const {
    const std::string& token = vocab_.tokens[id];
    if (token.rfind(kWordStart, 0) == 0) return " " + token.substr(kWordStart.size());
    return token;
}

}  // namespace rockllm
