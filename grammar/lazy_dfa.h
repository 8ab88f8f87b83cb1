// The grammar's matcher states numbered as they are reached, with each state's transition per byte
// remembered once computed: a deterministic automaton built lazily. Walking the vocabulary then
// costs a table lookup per byte for every state seen before (inside a string, every byte leads
// back to the same state), instead of a matcher step.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "grammar/grammar.h"

namespace rockllm {

class LazyDfa {
public:
    static constexpr int32_t kRefused = -1;

    explicit LazyDfa(const Grammar& grammar);

    int32_t start() const { return start_; }
    int32_t next(int32_t state, unsigned char byte);
    // kRefused when some byte is refused.
    int32_t follow(int32_t state, std::string_view bytes);

    bool accepting(int32_t state) const { return states_[static_cast<size_t>(state)].accepting; }
    bool can_continue(int32_t state) const { return states_[static_cast<size_t>(state)].can_continue; }
    int32_t min_remaining(int32_t state) const { return states_[static_cast<size_t>(state)].min_remaining; }
    size_t state_count() const { return states_.size(); }

    // Forgets every state but the given one (to bound memory); returns its new number.
    int32_t keep_only(int32_t state);

private:
    struct State {
        GrammarMatcher matcher;
        std::array<int32_t, 256> transitions;  // kUnknown until computed
        bool accepting, can_continue;
        int32_t min_remaining;
    };
    static constexpr int32_t kUnknown = -2;
    int32_t intern(GrammarMatcher matcher);

    std::vector<State> states_;
    std::unordered_map<std::string, int32_t> ids_;
    int32_t start_;
};

}  // namespace rockllm
