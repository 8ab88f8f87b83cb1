#include "sequence.h"

#include <algorithm>

namespace rockllm {

int64_t Sequence::common_prefix(std::span<const int32_t> prompt) const {
    const size_t limit = std::min(cached_tokens_.size(), prompt.empty() ? size_t{0} : prompt.size() - 1);
    size_t n = 0;
    while (n < limit && cached_tokens_[n] == prompt[n]) ++n;
    return static_cast<int64_t>(n);
}

int64_t Sequence::reusable_prefix(std::span<const int32_t> prompt) const {
    std::lock_guard lock(mutex_);
    return common_prefix(prompt);
}

int64_t Sequence::share_prefix(const Sequence& donor, std::span<const int32_t> prompt) {
    if (&donor == this) return reusable_prefix(prompt);
    std::scoped_lock lock(mutex_, donor.mutex_);
    const int64_t own = common_prefix(prompt);
    // Whole pages only: the donor may still be writing the positions after its prefix.
    const int64_t pages = donor.common_prefix(prompt) / cache_.page_tokens();
    const int64_t shared = pages * cache_.page_tokens();
    if (shared <= own) return own;
    cache_.share_pages(donor.cache_, pages);
    cached_tokens_.assign(prompt.begin(), prompt.begin() + shared);
    return shared;
}

void Sequence::keep_prefix(int64_t n) {
    std::lock_guard lock(mutex_);
    n = std::clamp<int64_t>(n, 0, static_cast<int64_t>(cached_tokens_.size()));
    cached_tokens_.resize(static_cast<size_t>(n));
    cache_.truncate(n);
}

void Sequence::prepare_write(int64_t pos, int64_t count) {
    std::lock_guard lock(mutex_);
    cache_.reserve(pos + count);
    cache_.make_writable(pos, pos + count);
}

void Sequence::record(std::span<const int32_t> tokens, int64_t pos) {
    std::lock_guard lock(mutex_);
    cached_tokens_.resize(static_cast<size_t>(pos), -1);
    cached_tokens_.insert(cached_tokens_.end(), tokens.begin(), tokens.end());
}

void Sequence::erase(int64_t n_keep, int64_t n_discard, int64_t n_past) {
    std::lock_guard lock(mutex_);
    cache_.erase(n_keep, n_discard, n_past);
    cached_tokens_.resize(static_cast<size_t>(n_past), -1);
    cached_tokens_.erase(cached_tokens_.begin() + n_keep, cached_tokens_.begin() + n_keep + n_discard);
}

void Sequence::release() {
    std::lock_guard lock(mutex_);
    cache_.clear();
    cached_tokens_.clear();
}

}  // namespace rockllm
