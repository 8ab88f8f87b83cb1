#include "token_constraint.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace rockllm {

namespace {

using Clock = std::chrono::steady_clock;

int64_t ns_since(Clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
}

uint16_t saturate(int32_t remaining) {
    return static_cast<uint16_t>(std::min<int32_t>(remaining, 0xFFFE));
}

}  // namespace

SortedVocabulary::SortedVocabulary(std::vector<std::string> pieces) : pieces_(std::move(pieces)) {
    for (size_t id = 0; id < pieces_.size(); ++id)
        if (!pieces_[id].empty()) order_.push_back(static_cast<int32_t>(id));
    std::sort(order_.begin(), order_.end(), [this](int32_t a, int32_t b) { return piece(a) < piece(b); });
    shared_prefix_.resize(order_.size(), 0);
    for (size_t i = 1; i < order_.size(); ++i) {
        const std::string& a = piece(order_[i - 1]);
        const std::string& b = piece(order_[i]);
        const auto mismatch = std::mismatch(a.begin(), a.end(), b.begin(), b.end());
        shared_prefix_[i] = static_cast<uint32_t>(mismatch.first - a.begin());
    }
}

TokenConstraint::TokenConstraint(const Grammar& grammar, const SortedVocabulary& vocabulary, std::vector<int32_t> end_tokens,
                                 int64_t token_budget)
    : vocabulary_(vocabulary),
      end_tokens_(std::move(end_tokens)),
      budget_(token_budget),
      dfa_(grammar),
      state_(dfa_.start()),
      min_answer_bytes_(dfa_.min_remaining(state_)) {}

void TokenConstraint::bound_memory() {
    if (dfa_.state_count() <= kMaxDfaStates) return;
    state_ = dfa_.keep_only(state_);
    cache_.clear();
    cache_index_.clear();
}

bool TokenConstraint::is_end(int32_t token) const {
    return std::find(end_tokens_.begin(), end_tokens_.end(), token) != end_tokens_.end();
}

// After this token, budget_ - 1 tokens remain: enough when each remaining byte can be one token.
bool TokenConstraint::fits(uint16_t remaining_after) const {
    return remaining_after != kRefused && (budget_ < 0 || static_cast<int64_t>(remaining_after) <= budget_ - 1);
}

bool TokenConstraint::allows(int32_t token) {
    const auto start = Clock::now();
    ++stats_.checks;
    bool allowed = false;
    bound_memory();
    if (is_end(token)) {
        allowed = dfa_.accepting(state_);
    } else if (token >= 0 && token < vocabulary_.size() && !vocabulary_.piece(token).empty()) {
        const int32_t after = dfa_.follow(state_, vocabulary_.piece(token));
        allowed = after != LazyDfa::kRefused && fits(saturate(dfa_.min_remaining(after)));
    }
    stats_.check_ns += ns_since(start);
    return allowed;
}

std::shared_ptr<const TokenConstraint::Remaining> TokenConstraint::remaining_after_each_token() {
    bound_memory();
    const int32_t key = state_;
    if (const auto it = cache_index_.find(key); it != cache_index_.end()) {
        ++stats_.mask_cache_hits;
        cache_.splice(cache_.begin(), cache_, it->second);
        return it->second->second;
    }
    auto remaining = std::make_shared<Remaining>(static_cast<size_t>(vocabulary_.size()), kRefused);
    // Walk the sorted pieces keeping the state after each byte of the current one, so a piece only
    // feeds the bytes it does not share with the one before.
    std::vector<int32_t> states = {state_};
    size_t valid = 0;                                    // states[0..valid] match the current piece's prefix
    size_t dead = std::numeric_limits<size_t>::max();    // a prefix of this length was refused
    const auto& order = vocabulary_.order();
    const auto& shared = vocabulary_.shared_prefix();
    for (size_t i = 0; i < order.size(); ++i) {
        const std::string& piece = vocabulary_.piece(order[i]);
        valid = std::min<size_t>(valid, shared[i]);
        if (shared[i] >= dead) continue;  // starts with the refused prefix
        dead = std::numeric_limits<size_t>::max();
        if (states.size() < piece.size() + 1) states.resize(piece.size() + 1, state_);
        bool ok = true;
        for (size_t d = valid; d < piece.size(); ++d) {
            states[d + 1] = dfa_.next(states[d], static_cast<unsigned char>(piece[d]));
            if (states[d + 1] == LazyDfa::kRefused) {
                dead = d + 1;
                valid = d;
                ok = false;
                break;
            }
            valid = d + 1;
        }
        if (ok) (*remaining)[static_cast<size_t>(order[i])] = saturate(dfa_.min_remaining(states[piece.size()]));
    }
    cache_.emplace_front(key, remaining);
    cache_index_[key] = cache_.begin();
    if (cache_.size() > kCacheSize) {
        cache_index_.erase(cache_.back().first);
        cache_.pop_back();
    }
    return remaining;
}

bool TokenConstraint::mask(std::span<float> logits) {
    const auto start = Clock::now();
    ++stats_.masks;
    const std::shared_ptr<const Remaining> remaining = remaining_after_each_token();
    const bool accepting = dfa_.accepting(state_);
    bool any = false;
    for (size_t id = 0; id < logits.size(); ++id) {
        const bool allowed = is_end(static_cast<int32_t>(id)) ? accepting : id < remaining->size() && fits((*remaining)[id]);
        if (allowed) any = true;
        else logits[id] = -std::numeric_limits<float>::infinity();
    }
    stats_.mask_ns += ns_since(start);
    return any;
}

void TokenConstraint::accept(int32_t token) {
    if (is_end(token)) {
        if (!dfa_.accepting(state_)) throw std::logic_error("the format does not allow the answer to end here");
    } else {
        const int32_t after = token < 0 || token >= vocabulary_.size() || vocabulary_.piece(token).empty()
                                  ? LazyDfa::kRefused
                                  : dfa_.follow(state_, vocabulary_.piece(token));
        if (after == LazyDfa::kRefused) throw std::logic_error("the format does not allow token " + std::to_string(token) + " here");
        state_ = after;
    }
    if (budget_ > 0) --budget_;
}

}  // namespace rockllm
