// One sequence's state between forward passes: the keys and values of its positions (a KV cache
// drawing pages from its model's pool) and the tokens they hold, which is the prompt cache. A
// model's engine (Transformer) runs any of its sequences, several of them in one pass.
//
// A sequence belongs to one caller at a time, but another sequence of the model may take a share
// of its prefix's pages from another thread (share_prefix): the token list and the page list
// change only under the sequence's mutex. Writing keys and values needs no lock, since shared
// pages are copied before they are written (prepare_write).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "kv_cache.h"

namespace rockllm {

class Sequence {
public:
    Sequence(std::shared_ptr<KvPagePool> pool, int64_t n_ctx) : cache_(std::move(pool), n_ctx) {}

    int64_t n_ctx() const { return cache_.n_ctx(); }
    KvCache& kv_cache() { return cache_; }
    const KvCache& kv_cache() const { return cache_; }

    // The tokens whose keys and values the cache holds, position by position (-1 where a position
    // was fed out of order and is unknown). For the sequence's own caller.
    const std::vector<int32_t>& cached_tokens() const { return cached_tokens_; }
    // How many leading tokens of `prompt` the cache already holds, at most prompt.size() - 1: the
    // last prompt token is always run again, for the logits that sample the first answer token.
    int64_t reusable_prefix(std::span<const int32_t> prompt) const;
    // Takes the whole pages of the longest prefix of `prompt` that donor (another sequence of the
    // model, perhaps decoding meanwhile) holds, when that is more than this sequence holds of it
    // itself; the pages are shared, copy-on-write. Returns the reusable prefix it then has.
    int64_t share_prefix(const Sequence& donor, std::span<const int32_t> prompt);
    // Keeps the first n cached positions and gives back the pages past them.
    void keep_prefix(int64_t n);
    // Storage of its own for positions [pos, pos + count): the engine calls it before writing them.
    void prepare_write(int64_t pos, int64_t count);
    // Records that positions pos.. now hold tokens (and nothing past them).
    void record(std::span<const int32_t> tokens, int64_t pos);
    // Removes positions [n_keep, n_keep + n_discard) of the first n_past, keys, values and tokens
    // (a context shift; the keys' rotation is the engine's).
    void erase(int64_t n_keep, int64_t n_discard, int64_t n_past);
    // The sequence is over: its KV pages go back to the pool (the next forward starts at 0).
    void release();

private:
    int64_t common_prefix(std::span<const int32_t> prompt) const;  // reusable_prefix, lock held

    mutable std::mutex mutex_;
    KvCache cache_;
    std::vector<int32_t> cached_tokens_;
};

}  // namespace rockllm
