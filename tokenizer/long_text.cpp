#include "tokenizer/long_text.h"

#include <algorithm>

namespace rockllm {

namespace {

// Tokens near a cut may differ from the whole text's (a word or a special token cut in two);
// asking for this many more than needed keeps them out of the ones used.
constexpr size_t kMarginTokens = 16;

bool is_continuation_byte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// The first character boundary at or after `at`.
size_t boundary_after(std::string_view text, size_t at) {
    while (at < text.size() && is_continuation_byte(text[at])) ++at;
    return at;
}

}  // namespace

size_t longest_piece_bytes(const Tokenizer& tokenizer) {
    size_t longest = 1;
    for (int32_t id = 0; id < tokenizer.vocabulary().size(); ++id) longest = std::max(longest, tokenizer.token_to_piece(id, /*render_special=*/true).size());
    return longest;
}

std::vector<int32_t> encode_keeping_end(const Tokenizer& tokenizer, std::string_view text, size_t last_tokens, size_t longest_piece) {
    const size_t wanted = last_tokens + kMarginTokens;
    // Text normalisation could make tokens cover more bytes than their pieces (collapsed spaces):
    // then the tail gives too few tokens and a longer one is tried, up to the whole text.
    for (size_t tail_bytes = wanted * longest_piece; tail_bytes < text.size(); tail_bytes *= 4) {
        const size_t cut = boundary_after(text, text.size() - tail_bytes);
        std::vector<int32_t> tail = tokenizer.encode(text.substr(cut), /*add_special=*/true, /*parse_special=*/true);
        const Vocabulary& vocab = tokenizer.vocabulary();
        if (vocab.add_bos && vocab.bos_id && !tail.empty() && tail.front() == *vocab.bos_id) tail.erase(tail.begin());
        if (tail.size() < wanted) continue;
        // The whole text's first token: from its first few kilobytes (a BOS, or its first word).
        const size_t head_bytes = std::min(text.size(), std::max<size_t>(4096, 16 * longest_piece));
        const std::vector<int32_t> head = tokenizer.encode(text.substr(0, boundary_after(text, head_bytes)),
                                                           /*add_special=*/true, /*parse_special=*/true);
        if (head.empty()) break;
        tail.insert(tail.begin(), head.front());
        return tail;
    }
    return tokenizer.encode(text, /*add_special=*/true, /*parse_special=*/true);
}

std::vector<int32_t> encode_keeping_start(const Tokenizer& tokenizer, std::string_view text, size_t first_tokens, size_t longest_piece) {
    const size_t wanted = first_tokens + kMarginTokens;
    for (size_t head_bytes = wanted * longest_piece; head_bytes < text.size(); head_bytes *= 4) {
        std::vector<int32_t> head = tokenizer.encode(text.substr(0, boundary_after(text, head_bytes)), /*add_special=*/true, /*parse_special=*/true);
        if (head.size() >= wanted) return head;
    }
    return tokenizer.encode(text, /*add_special=*/true, /*parse_special=*/true);
}

std::string shorten_keeping_ends(std::string text, size_t max_bytes) {
    if (text.size() <= max_bytes) return text;
    const size_t head_bytes = std::min<size_t>(4096, max_bytes / 4);
    const size_t head = boundary_after(text, head_bytes);
    const size_t tail_start = boundary_after(text, text.size() - (max_bytes - head_bytes));
    text.erase(head, tail_start - head);
    text.shrink_to_fit();
    return text;
}

}  // namespace rockllm
