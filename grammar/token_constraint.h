// Constrained sampling: which tokens of a vocabulary a grammar allows next.
//
// A token is allowed when the grammar accepts its bytes and a complete answer can still be written
// in the tokens left (its fewest remaining bytes, one byte token each, fit the budget) — so an
// answer cut by num_predict or the context is still complete. End tokens are allowed once the
// answer is complete.
//
// Computing a full mask walks the vocabulary in sorted order, sharing the automaton states of common
// prefixes, through the lazily built automaton (a table lookup per byte once a state is known);
// masks of recent states are kept, as states recur (inside a string, between members). The
// sampler first checks only the token it drew and asks for the mask only when that one is refused.
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "grammar/grammar.h"
#include "grammar/lazy_dfa.h"
#include "llm/token_filter.h"

namespace rockllm {

// The vocabulary's token texts in byte order, with the length of the prefix each shares with the
// one before; built once per model.
class SortedVocabulary {
public:
    explicit SortedVocabulary(std::vector<std::string> pieces);  // pieces[id]; "" for tokens never allowed

    const std::string& piece(int32_t id) const { return pieces_[static_cast<size_t>(id)]; }
    int32_t size() const { return static_cast<int32_t>(pieces_.size()); }
    const std::vector<int32_t>& order() const { return order_; }
    const std::vector<uint32_t>& shared_prefix() const { return shared_prefix_; }

private:
    std::vector<std::string> pieces_;
    std::vector<int32_t> order_;          // non-empty pieces, sorted
    std::vector<uint32_t> shared_prefix_; // with the previous entry of order_
};

struct ConstraintStats {
    int64_t checks = 0;        // single-token checks
    int64_t masks = 0;         // full masks asked for
    int64_t mask_cache_hits = 0;
    int64_t check_ns = 0, mask_ns = 0;
};

class TokenConstraint final : public TokenFilter {
public:
    // grammar and vocabulary must outlive the constraint. token_budget: tokens that may still be
    // generated (< 0: no limit).
    TokenConstraint(const Grammar& grammar, const SortedVocabulary& vocabulary, std::vector<int32_t> end_tokens,
                    int64_t token_budget);

    bool allows(int32_t token) override;
    // Sets the logits of refused tokens to -infinity; false when no token is allowed.
    bool mask(std::span<float> logits) override;
    // Follows a token; throws std::logic_error for one that is not allowed.
    void accept(int32_t token) override;
    // The answer is complete and nothing may follow it.
    bool finished() const override { return dfa_.accepting(state_) && !dfa_.can_continue(state_); }
    // The fewest bytes a complete answer needs from the start.
    int32_t min_answer_bytes() const { return min_answer_bytes_; }

    const ConstraintStats& stats() const { return stats_; }

private:
    static constexpr uint16_t kRefused = 0xFFFF;
    using Remaining = std::vector<uint16_t>;  // per token id: fewest bytes left after it, or kRefused

    bool is_end(int32_t token) const;
    bool fits(uint16_t remaining_after) const;
    std::shared_ptr<const Remaining> remaining_after_each_token();

    void bound_memory();

    const SortedVocabulary& vocabulary_;
    std::vector<int32_t> end_tokens_;
    int64_t budget_;
    LazyDfa dfa_;
    int32_t state_;
    int32_t min_answer_bytes_;
    ConstraintStats stats_;

    // Masks of recent states, least recently used last.
    static constexpr size_t kCacheSize = 48;
    static constexpr size_t kMaxDfaStates = 4096;  // about 1 KiB each
    std::list<std::pair<int32_t, std::shared_ptr<const Remaining>>> cache_;
    std::unordered_map<int32_t, decltype(cache_)::iterator> cache_index_;
};

}  // namespace rockllm
