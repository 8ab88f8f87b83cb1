#include "sequence.h"

#include <algorithm>

namespace rockllm {

int64_t Sequence::reusable_prefix(std::span<const int32_t> prompt) const {
    const size_t limit = std::min(cached_tokens_.size(), prompt.empty() ? size_t{0} : prompt.size() - 1);
    size_t n = 0;
    while (n < limit && cached_tokens_[n] == prompt[n]) ++n;
    return static_cast<int64_t>(n);
}

void Sequence::keep_prefix(int64_t n) {
    n = std::clamp<int64_t>(n, 0, static_cast<int64_t>(cached_tokens_.size()));
    cached_tokens_.resize(static_cast<size_t>(n));
    cache_.truncate(n);
}

void Sequence::record(std::span<const int32_t> tokens, int64_t pos) {
    cached_tokens_.resize(static_cast<size_t>(pos), -1);
    cached_tokens_.insert(cached_tokens_.end(), tokens.begin(), tokens.end());
}

void Sequence::record_erased(int64_t n_keep, int64_t n_discard, int64_t n_past) {
    cached_tokens_.resize(static_cast<size_t>(n_past), -1);
    cached_tokens_.erase(cached_tokens_.begin() + n_keep, cached_tokens_.begin() + n_keep + n_discard);
}

void Sequence::release() {
    cache_.clear();
    cached_tokens_.clear();
}

}  // namespace rockllm
