#include "tokenizer/precompiled_charsmap.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "llm/gguf.h"

namespace rockllm {

namespace {

// A darts-clone unit: a transition's label, the offset to its children, a leaf flag; or, in a
// leaf's unit, the value (here: where the replacement string starts).
struct TrieUnit {
    uint32_t bits;
    bool has_leaf() const { return (bits >> 8) & 1; }
    uint32_t value() const { return bits & ((1U << 31) - 1); }
    uint32_t label() const { return bits & ((1U << 31) | 0xFF); }
    uint32_t offset() const { return (bits >> 10) << ((bits & (1U << 9)) >> 6); }
};

[[noreturn]] void malformed(const std::string& why) {
    throw gguf::FormatError("tokenizer.ggml.precompiled_charsmap is malformed: " + why);
}

}  // namespace

void check_precompiled_charsmap(std::string_view blob) {
    if (blob.size() < 4) malformed("it is shorter than its size field");
    uint32_t trie_bytes = 0;
    for (int i = 3; i >= 0; --i) trie_bytes = trie_bytes << 8 | static_cast<uint8_t>(blob[static_cast<size_t>(i)]);
    if (trie_bytes == 0 || trie_bytes % 4 != 0 || trie_bytes > blob.size() - 4) malformed("its trie size does not fit the blob");
    std::vector<TrieUnit> units(trie_bytes / 4);
    std::memcpy(units.data(), blob.data() + 4, trie_bytes);  // little-endian, as the library reads it on the boards
    const std::string_view strings = blob.substr(4 + trie_bytes);
    if (strings.empty() || strings.back() != '\0') malformed("its replacement strings are not NUL-terminated");

    // Walk every state a prefix search can reach: from state q the search reads the units at
    // (q ^ offset) ^ byte for any byte, moves on where the label matches, and reads a leaf's value at
    // q ^ offset.
    const size_t n = units.size();
    std::vector<bool> seen(n, false);
    std::vector<uint32_t> states = {0};
    seen[0] = true;
    while (!states.empty()) {
        const uint32_t q = states.back();
        states.pop_back();
        const uint64_t base = q ^ units[q].offset();
        if (q != 0 && units[q].has_leaf()) {
            if (base >= n) malformed("a leaf lies outside the trie");
            if (units[base].value() >= strings.size()) malformed("a replacement string starts outside the blob");
        }
        if ((base | 0xFF) >= n) malformed("a transition leaves the trie");
        for (uint32_t c = 0; c < 256; ++c) {
            const auto r = static_cast<uint32_t>(base ^ c);
            if (units[r].label() == c && !seen[r]) {
                seen[r] = true;
                states.push_back(r);
            }
        }
    }
}

}  // namespace rockllm
