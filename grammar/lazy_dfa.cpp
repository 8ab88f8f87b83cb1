#include "lazy_dfa.h"

namespace rockllm {

LazyDfa::LazyDfa(const Grammar& grammar) : start_(intern(GrammarMatcher(grammar))) {}

int32_t LazyDfa::intern(GrammarMatcher matcher) {
    std::string key = matcher.state_key();
    if (const auto it = ids_.find(key); it != ids_.end()) return it->second;
    State s{std::move(matcher), {}, false, false, 0};
    s.transitions.fill(kUnknown);
    s.accepting = s.matcher.accepting();
    s.can_continue = s.matcher.can_continue();
    s.min_remaining = s.matcher.min_remaining();
    states_.push_back(std::move(s));
    const auto id = static_cast<int32_t>(states_.size() - 1);
    ids_.emplace(std::move(key), id);
    return id;
}

int32_t LazyDfa::next(int32_t state, unsigned char byte) {
    int32_t known = states_[static_cast<size_t>(state)].transitions[byte];
    if (known != kUnknown) return known;
    GrammarMatcher advanced = states_[static_cast<size_t>(state)].matcher;
    known = advanced.accept_byte(byte) ? intern(std::move(advanced)) : kRefused;
    states_[static_cast<size_t>(state)].transitions[byte] = known;  // after intern: states_ may have grown
    return known;
}

int32_t LazyDfa::follow(int32_t state, std::string_view bytes) {
    for (char c : bytes) {
        state = next(state, static_cast<unsigned char>(c));
        if (state == kRefused) return kRefused;
    }
    return state;
}

int32_t LazyDfa::keep_only(int32_t state) {
    GrammarMatcher kept = std::move(states_[static_cast<size_t>(state)].matcher);
    states_.clear();
    ids_.clear();
    const int32_t id = intern(std::move(kept));
    start_ = -1;  // the start state is gone with the others
    return id;
}

}  // namespace rockllm
