// Keys and values of every past position, per layer, so each new token attends without recomputation.
// Stored as F16 by default (half the memory, as llama.cpp and Ollama do) or F32.
//
// The storage is paged: a page holds a fixed number of consecutive positions (all layers, keys and
// values), and the sequences of a model (its parallel slots) take pages from one shared pool as
// they grow and give them back when their request ends. Where the pages live is the pool's
// KvPageMemory: ordinary memory, or buffers the NPU can read (npu/backend/kv_page_memory.h).
//
// Sequences that begin alike (one system prompt, an earlier turn of one chat) can hold the same
// pages for their common prefix: whole pages only, copied before either holder writes to them
// (copy-on-write), so a shared page never changes while it is shared.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "ggml_type.h"

namespace rockllm {

// Memory for KV pages. allocate() throws std::bad_alloc or std::runtime_error when it cannot.
class KvPageMemory {
public:
    virtual ~KvPageMemory() = default;
    virtual void* allocate(size_t bytes) = 0;
    virtual void release(void* page, size_t bytes) = 0;
    virtual const char* name() const = 0;  // for the load log: "host memory", "rknpu buffers", ...
};

class HostKvPageMemory : public KvPageMemory {
public:
    void* allocate(size_t bytes) override;
    void release(void* page, size_t bytes) override;
    const char* name() const override { return "host memory"; }
};

struct KvLayout {
    int64_t n_layer = 0;
    int64_t kv_dim = 0;               // K (and V) elements per position per layer
    GgmlType type = GgmlType::F16;    // F16 or F32
    int64_t page_tokens = 64;         // positions per page, a power of two
};

// Pages are allocated on first use and then kept for reuse; at most max_pages exist at once.
class KvPagePool {
public:
    KvPagePool(KvLayout layout, int64_t max_pages, std::shared_ptr<KvPageMemory> memory = std::make_shared<HostKvPageMemory>());
    ~KvPagePool();
    KvPagePool(const KvPagePool&) = delete;
    KvPagePool& operator=(const KvPagePool&) = delete;

    // A free page (its contents undefined); std::runtime_error when all max_pages are in use.
    uint8_t* acquire();
    // One holder gives the page up; it becomes free when its last holder has.
    void release(uint8_t* page);
    // One more holder of an acquired page (a sequence sharing another's prefix).
    void share(uint8_t* page);
    // Whether the page has more than one holder, so must be copied before it is written.
    bool is_shared(uint8_t* page) const;

    const KvLayout& layout() const { return layout_; }
    size_t page_bytes() const { return page_bytes_; }
    int64_t max_pages() const { return max_pages_; }
    int64_t pages_in_use() const;
    int64_t pages_allocated() const;  // in use plus free ones kept for reuse
    int64_t pages_shared() const;     // in use by more than one holder
    const KvPageMemory& memory() const { return *memory_; }

private:
    KvLayout layout_;
    size_t page_bytes_;
    int64_t max_pages_;
    std::shared_ptr<KvPageMemory> memory_;
    mutable std::mutex mutex_;
    std::vector<uint8_t*> free_;
    std::unordered_map<uint8_t*, int> extra_holders_;  // of shared pages: holders beyond the first
    int64_t allocated_ = 0;
};

// One sequence's keys and values: positions [0, reserved) are addressable.
class KvCache {
public:
    KvCache(std::shared_ptr<KvPagePool> pool, int64_t n_ctx);
    ~KvCache();
    KvCache(const KvCache&) = delete;
    KvCache& operator=(const KvCache&) = delete;

    int64_t kv_dim() const { return layout_.kv_dim; }
    int64_t n_ctx() const { return n_ctx_; }
    GgmlType type() const { return layout_.type; }
    const KvPagePool& pool() const { return *pool_; }

    // Takes pages from the pool until positions [0, n_positions) have storage.
    void reserve(int64_t n_positions);
    // Gives every page back: the sequence is over.
    void clear();
    // Keeps positions [0, n_positions) and gives back the pages past them.
    void truncate(int64_t n_positions);
    // Holds the first n_pages pages of donor (a cache of the same pool) in place of its own, shared,
    // and gives back its pages past them.
    void share_pages(const KvCache& donor, int64_t n_pages);
    // Copies each shared page that positions [begin, end) fall in, so writing them changes no
    // other holder's keys and values. Positions without storage are left alone.
    void make_writable(int64_t begin, int64_t end);
    int64_t page_tokens() const { return layout_.page_tokens; }

    // Raw storage of one position's keys or values (kv_dim elements of type()); pos < reserved.
    void* key(int64_t layer, int64_t pos) { return pages_[static_cast<size_t>(pos >> page_shift_)] + key_offset(layer, pos); }
    void* value(int64_t layer, int64_t pos) { return static_cast<uint8_t*>(key(layer, pos)) + values_offset_; }
    const void* key(int64_t layer, int64_t pos) const {
        return pages_[static_cast<size_t>(pos >> page_shift_)] + key_offset(layer, pos);
    }
    const void* value(int64_t layer, int64_t pos) const { return static_cast<const uint8_t*>(key(layer, pos)) + values_offset_; }

    void store_key(int64_t layer, int64_t pos, const float* k) { store(key(layer, pos), k); }
    void store_value(int64_t layer, int64_t pos, const float* v) { store(value(layer, pos), v); }
    void load_key(int64_t layer, int64_t pos, float* k) const;

    // Removes positions [begin, begin + count) of every layer, moving positions up to `used` down,
    // and gives back the pages no longer needed (the moved pages are made writable first).
    void erase(int64_t begin, int64_t count, int64_t used);

private:
    size_t key_offset(int64_t layer, int64_t pos) const {
        return static_cast<size_t>((layer * layout_.page_tokens + (pos & page_mask_)) * layout_.kv_dim) * element_bytes_;
    }
    void store(void* dst, const float* x) const;
    void shrink_to(int64_t n_positions);

    std::shared_ptr<KvPagePool> pool_;
    KvLayout layout_;
    int64_t n_ctx_;
    int page_shift_;
    int64_t page_mask_;
    size_t element_bytes_;
    size_t values_offset_;  // values follow the keys of all layers within a page
    std::vector<uint8_t*> pages_;
};

}  // namespace rockllm
