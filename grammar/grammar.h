// A context-free grammar over bytes, and a matcher that follows it one byte at a time.
//
// A rule is a list of alternatives; an alternative is a sequence of symbols, each either a set of
// bytes or a reference to a rule. The matcher keeps every way the input so far can be read as a
// set of stacks of positions (as llama.cpp's grammar sampler does): a byte keeps the stacks whose
// top symbol's set contains it. Left recursion is not allowed (the builder's repetitions recurse
// on the right). The grammar also knows, for every position, the fewest bytes that still complete
// the input — what lets generation close a JSON value before it runs out of tokens.
#pragma once

#include <bitset>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rockllm {

struct GrammarSymbol {
    static constexpr int32_t kBytes = -1;  // rule value of a byte-set symbol
    static constexpr int32_t kEnd = -2;    // rule value of the marker that ends each alternative
    int32_t rule = kBytes;
    std::bitset<256> bytes;
    int32_t min_remaining = 0;  // fewest bytes from here to the end of this alternative

    bool is_end() const { return rule == kEnd; }
    bool is_bytes() const { return rule == kBytes; }
};

using GrammarSequence = std::vector<GrammarSymbol>;

// One sequence followed by another.
inline GrammarSequence operator+(GrammarSequence a, const GrammarSequence& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

class Grammar {
public:
    // A new rule without alternatives yet (so that rules can refer to each other).
    int32_t declare(std::string name);
    void define(int32_t rule, std::vector<GrammarSequence> alternatives);
    int32_t add(std::string name, std::vector<GrammarSequence> alternatives);
    void set_root(int32_t rule) { root_ = rule; }

    // Checks every rule is defined and nothing recurses without consuming a byte, and computes the
    // completion lengths. Throws std::invalid_argument naming the rule otherwise.
    void finalize();

    bool finalized() const { return finalized_; }
    int32_t root() const { return root_; }
    const std::vector<GrammarSequence>& alternatives(int32_t rule) const { return rules_[static_cast<size_t>(rule)]; }
    const std::string& name(int32_t rule) const { return names_[static_cast<size_t>(rule)]; }
    int32_t rule_count() const { return static_cast<int32_t>(rules_.size()); }
    // The grammar in a GBNF-like notation, for logs and error messages.
    std::string describe() const;

    // Symbols to build alternatives from.
    static GrammarSymbol ref(int32_t rule);
    static GrammarSymbol byte_set(std::string_view ranges);  // "a-z0-9_", a leading '^' negates
    static GrammarSymbol byte(unsigned char c);
    static GrammarSequence literal(std::string_view text);

private:
    std::vector<std::vector<GrammarSequence>> rules_;
    std::vector<std::string> names_;
    std::vector<bool> defined_;
    std::vector<int32_t> min_length_;
    int32_t root_ = -1;
    bool finalized_ = false;
};

// Follows a finalized grammar (which must outlive it) from its root.
class GrammarMatcher {
public:
    using Stack = std::vector<const GrammarSymbol*>;  // bottom first; the top is the next symbol

    explicit GrammarMatcher(const Grammar& grammar);

    // False (and the matcher unchanged) when the grammar cannot continue with these bytes.
    bool accept(std::string_view bytes);
    bool accept_byte(unsigned char c);
    // The input so far is a complete sentence of the grammar.
    bool accepting() const;
    // Some byte can still follow.
    bool can_continue() const;
    // The fewest bytes that complete the input.
    int32_t min_remaining() const;

    const std::vector<Stack>& stacks() const { return stacks_; }
    // A key that equals another matcher's exactly when both are in the same state.
    std::string state_key() const;

private:
    void expand(Stack stack, std::vector<Stack>& out) const;
    static void normalize(std::vector<Stack>& stacks);

    const Grammar* grammar_;
    std::vector<Stack> stacks_;
};

}  // namespace rockllm
