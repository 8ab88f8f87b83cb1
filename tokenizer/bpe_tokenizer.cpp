#include "tokenizer/bpe_tokenizer.h"

#include <algorithm>
#include <queue>
#include <stdexcept>

#include "tokenizer/unicode_data.h"

namespace rockllm {

namespace {

size_t utf8_length(uint8_t lead) {
    if (lead < 0x80) return 1;
    if ((lead & 0xE0) == 0xC0) return 2;
    if ((lead & 0xF0) == 0xE0) return 3;
    if ((lead & 0xF8) == 0xF0) return 4;
    return 1;  // a stray continuation byte stands alone
}

const std::unordered_map<std::string, uint8_t>& unicode_to_byte() {
    static const auto map = [] {
        std::unordered_map<std::string, uint8_t> m;
        const auto& forward = byte_to_unicode();
        for (int b = 0; b < 256; ++b) m.emplace(forward[b], static_cast<uint8_t>(b));
        return m;
    }();
    return map;
}

}  // namespace

const std::vector<std::string>& byte_to_unicode() {
    static const std::vector<std::string> table = [] {
        std::vector<std::string> t(256);
        uint32_t next = 256;
        for (int b = 0; b < 256; ++b) {
            const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            unicode::append_utf8(t[b], printable ? static_cast<uint32_t>(b) : next++);
        }
        return t;
    }();
    return table;
}

BpeTokenizer::BpeTokenizer(Vocabulary vocab) : Tokenizer(std::move(vocab)), pre_(vocab_.pre) {
    token_ids_.reserve(vocab_.tokens.size());
    for (int32_t id = 0; id < vocab_.size(); ++id) token_ids_.emplace(vocab_.tokens[id], id);  // first id wins
    merge_ranks_.reserve(vocab_.merges.size());
    for (size_t i = 0; i < vocab_.merges.size(); ++i) {
        const std::string& merge = vocab_.merges[i];
        if (merge.find(' ', 1) == std::string::npos)
            throw std::runtime_error("BPE merge " + std::to_string(i) + " ('" + merge + "') has no separating space");
        merge_ranks_.emplace(merge, static_cast<int>(i));
    }
}

int BpeTokenizer::rank(const std::string& left, const std::string& right) const {
    auto it = merge_ranks_.find(left + " " + right);
    return it == merge_ranks_.end() ? -1 : it->second;
}

void BpeTokenizer::encode_word(const std::string& raw, std::vector<int32_t>& out) const {
    std::string word;
    for (unsigned char c : raw) word += byte_to_unicode()[c];
    if (pre_.ignore_merges()) {
        if (auto it = token_ids_.find(word); it != token_ids_.end()) {
            out.push_back(it->second);
            return;
        }
    }
    // Symbols start as single characters and are merged pairwise: the pair with the lowest merge rank
    // first, the leftmost among equal ranks. A merged-away symbol keeps an empty text.
    std::vector<std::string> symbols;
    for (size_t i = 0; i < word.size();) {
        const size_t n = std::min(utf8_length(static_cast<uint8_t>(word[i])), word.size() - i);
        symbols.push_back(word.substr(i, n));
        i += n;
    }
    std::vector<int> prev(symbols.size()), next(symbols.size());
    for (size_t i = 0; i < symbols.size(); ++i) {
        prev[i] = static_cast<int>(i) - 1;
        next[i] = i + 1 < symbols.size() ? static_cast<int>(i) + 1 : -1;
    }
    struct Pair {
        int rank, left, right;
        std::string text;  // the merged text, to detect pairs made stale by earlier merges
        bool operator<(const Pair& o) const { return rank > o.rank || (rank == o.rank && left > o.left); }
    };
    std::priority_queue<Pair> queue;
    auto consider = [&](int left, int right) {
        if (left < 0 || right < 0) return;
        const int r = rank(symbols[left], symbols[right]);
        if (r >= 0) queue.push({r, left, right, symbols[left] + symbols[right]});
    };
    for (size_t i = 1; i < symbols.size(); ++i) consider(static_cast<int>(i) - 1, static_cast<int>(i));
    while (!queue.empty()) {
        const Pair p = queue.top();
        queue.pop();
        std::string& left = symbols[p.left];
        std::string& right = symbols[p.right];
        if (left.empty() || right.empty() || next[p.left] != p.right || left + right != p.text) continue;
        left += right;
        right.clear();
        next[p.left] = next[p.right];
        if (next[p.right] >= 0) prev[next[p.right]] = p.left;
        consider(prev[p.left], p.left);
        consider(p.left, next[p.left]);
    }
    for (const std::string& symbol : symbols) {
        if (symbol.empty()) continue;
        if (auto it = token_ids_.find(symbol); it != token_ids_.end()) {
            out.push_back(it->second);
            continue;
        }
        // Not in the vocabulary: fall back to the tokens of its single characters, as llama.cpp does.
        for (size_t i = 0; i < symbol.size();) {
            const size_t n = std::min(utf8_length(static_cast<uint8_t>(symbol[i])), symbol.size() - i);
            if (auto it = token_ids_.find(symbol.substr(i, n)); it != token_ids_.end()) out.push_back(it->second);
            i += n;
        }
    }
}

void BpeTokenizer::encode_fragment(std::string text, bool, std::vector<int32_t>& out) const {
    for (const std::string& word : pre_.split(text)) encode_word(word, out);
}

std::string BpeTokenizer::text_piece(int32_t id) const {
    // Map each character back to its byte; characters outside the table pass through.
    const std::string& text = vocab_.tokens[id];
    std::string out;
    for (size_t i = 0; i < text.size();) {
        const size_t n = std::min(utf8_length(static_cast<uint8_t>(text[i])), text.size() - i);
        const std::string ch = text.substr(i, n);
        auto it = unicode_to_byte().find(ch);
        if (it != unicode_to_byte().end()) out += static_cast<char>(it->second);
        else out += ch;
        i += n;
    }
    return out;
}

}  // namespace rockllm
