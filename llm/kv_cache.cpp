#include "kv_cache.h"
#include "base/half.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

namespace rockllm {

namespace {

size_t element_bytes_of(GgmlType type) {
    if (type != GgmlType::F16 && type != GgmlType::F32) throw std::invalid_argument("KV cache type must be F16 or F32");
    return type == GgmlType::F16 ? 2 : 4;
}

}  // namespace

void* HostKvPageMemory::allocate(size_t bytes) {
    void* p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!p) throw std::bad_alloc();
    return p;
}

void HostKvPageMemory::release(void* page, size_t) { std::free(page); }

KvPagePool::KvPagePool(KvLayout layout, int64_t max_pages, std::shared_ptr<KvPageMemory> memory)
    : layout_(layout), max_pages_(max_pages), memory_(std::move(memory)) {
    if (layout.n_layer <= 0 || layout.kv_dim <= 0) throw std::invalid_argument("a KV page needs layers and a width");
    if (layout.page_tokens <= 0 || (layout.page_tokens & (layout.page_tokens - 1)) != 0)
        throw std::invalid_argument("positions per KV page must be a power of two");
    if (max_pages <= 0) throw std::invalid_argument("a KV page pool needs at least one page");
    page_bytes_ = 2 * static_cast<size_t>(layout.n_layer * layout.page_tokens * layout.kv_dim) * element_bytes_of(layout.type);
}

KvPagePool::~KvPagePool() {
    // Sequences give their pages back before the pool goes (they hold a shared_ptr to it).
    for (uint8_t* page : free_) memory_->release(page, page_bytes_);
}

uint8_t* KvPagePool::acquire() {
    std::lock_guard lock(mutex_);
    if (!free_.empty()) {
        uint8_t* page = free_.back();
        free_.pop_back();
        return page;
    }
    if (allocated_ >= max_pages_)
        throw std::runtime_error("the KV cache is full: all " + std::to_string(max_pages_) + " pages are in use");
    auto* page = static_cast<uint8_t*>(memory_->allocate(page_bytes_));
    ++allocated_;
    return page;
}

void KvPagePool::release(uint8_t* page) {
    std::lock_guard lock(mutex_);
    if (auto it = extra_holders_.find(page); it != extra_holders_.end()) {
        if (--it->second == 0) extra_holders_.erase(it);
        return;
    }
    free_.push_back(page);
}

void KvPagePool::share(uint8_t* page) {
    std::lock_guard lock(mutex_);
    ++extra_holders_[page];
}

bool KvPagePool::is_shared(uint8_t* page) const {
    std::lock_guard lock(mutex_);
    return extra_holders_.contains(page);
}

int64_t KvPagePool::pages_shared() const {
    std::lock_guard lock(mutex_);
    return static_cast<int64_t>(extra_holders_.size());
}

int64_t KvPagePool::pages_in_use() const {
    std::lock_guard lock(mutex_);
    return allocated_ - static_cast<int64_t>(free_.size());
}

int64_t KvPagePool::pages_allocated() const {
    std::lock_guard lock(mutex_);
    return allocated_;
}

KvCache::KvCache(std::shared_ptr<KvPagePool> pool, int64_t n_ctx)
    : pool_(std::move(pool)), layout_(pool_->layout()), n_ctx_(n_ctx) {
    if (n_ctx <= 0) throw std::invalid_argument("context length must be positive");
    page_shift_ = 0;
    while ((int64_t{1} << page_shift_) < layout_.page_tokens) ++page_shift_;
    page_mask_ = layout_.page_tokens - 1;
    element_bytes_ = element_bytes_of(layout_.type);
    values_offset_ = pool_->page_bytes() / 2;
}

KvCache::~KvCache() { clear(); }

void KvCache::reserve(int64_t n_positions) {
    if (n_positions > n_ctx_) throw std::out_of_range("KV positions beyond the context window");
    const auto needed = static_cast<size_t>((n_positions + layout_.page_tokens - 1) >> page_shift_);
    while (pages_.size() < needed) pages_.push_back(pool_->acquire());
}

void KvCache::share_pages(const KvCache& donor, int64_t n_pages) {
    if (donor.pool_ != pool_) throw std::invalid_argument("KV pages are shared only between caches of one pool");
    const auto n = static_cast<size_t>(n_pages);
    if (n > donor.pages_.size()) throw std::out_of_range("sharing more KV pages than the donor holds");
    for (size_t i = 0; i < n; ++i) {
        if (i < pages_.size() && pages_[i] == donor.pages_[i]) continue;
        pool_->share(donor.pages_[i]);
        if (i < pages_.size()) {
            pool_->release(pages_[i]);
            pages_[i] = donor.pages_[i];
        } else {
            pages_.push_back(donor.pages_[i]);
        }
    }
    shrink_to(n_pages * layout_.page_tokens);
}

void KvCache::make_writable(int64_t begin, int64_t end) {
    const auto first = static_cast<size_t>(std::max<int64_t>(begin, 0) >> page_shift_);
    const auto last = std::min(pages_.size(), static_cast<size_t>((end + layout_.page_tokens - 1) >> page_shift_));
    for (size_t i = first; i < last; ++i) {
        if (!pool_->is_shared(pages_[i])) continue;
        uint8_t* copy = pool_->acquire();
        std::memcpy(copy, pages_[i], pool_->page_bytes());
        pool_->release(pages_[i]);
        pages_[i] = copy;
    }
}

void KvCache::clear() { shrink_to(0); }

void KvCache::truncate(int64_t n_positions) { shrink_to(std::max<int64_t>(0, n_positions)); }

void KvCache::shrink_to(int64_t n_positions) {
    const auto keep = static_cast<size_t>((n_positions + layout_.page_tokens - 1) >> page_shift_);
    while (pages_.size() > keep) {
        pool_->release(pages_.back());
        pages_.pop_back();
    }
}

void KvCache::store(void* dst, const float* x) const {
    if (layout_.type == GgmlType::F32) {
        std::memcpy(dst, x, static_cast<size_t>(layout_.kv_dim) * 4);
        return;
    }
    auto* h = static_cast<uint16_t*>(dst);
    for (int64_t i = 0; i < layout_.kv_dim; ++i) h[i] = fp32_to_fp16(x[i]);
}

void KvCache::load_key(int64_t layer, int64_t pos, float* k) const {
    const void* src = key(layer, pos);
    if (layout_.type == GgmlType::F32) {
        std::memcpy(k, src, static_cast<size_t>(layout_.kv_dim) * 4);
        return;
    }
    const auto* h = static_cast<const uint16_t*>(src);
    for (int64_t i = 0; i < layout_.kv_dim; ++i) k[i] = fp16_to_fp32(h[i]);
}

void KvCache::erase(int64_t begin, int64_t count, int64_t used) {
    if (begin < 0 || count < 0 || begin + count > used || used > n_ctx_ ||
        static_cast<size_t>((used + layout_.page_tokens - 1) >> page_shift_) > pages_.size())
        throw std::out_of_range("KV cache erase outside the used positions");
    if (count == 0) return;
    make_writable(begin, used);
    // Positions move one by one: a position's rows are contiguous only within its page.
    const size_t row = static_cast<size_t>(layout_.kv_dim) * element_bytes_;
    for (int64_t l = 0; l < layout_.n_layer; ++l)
        for (int64_t p = begin; p + count < used; ++p) {
            std::memcpy(key(l, p), key(l, p + count), row);
            std::memcpy(value(l, p), value(l, p + count), row);
        }
    shrink_to(used - count);
}

}  // namespace rockllm
