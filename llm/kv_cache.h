// Keys and values of every past position, per layer, so each new token attends without recomputation.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace rockllm {

class KvCache {
public:
    KvCache(int64_t n_layer, int64_t n_ctx, int64_t kv_dim)
        : n_ctx_(n_ctx), kv_dim_(kv_dim),
          keys_(static_cast<size_t>(n_layer * n_ctx * kv_dim)),
          values_(static_cast<size_t>(n_layer * n_ctx * kv_dim)) {}

    int64_t n_ctx() const { return n_ctx_; }
    std::span<float> key(int64_t layer, int64_t pos) { return {&keys_[index(layer, pos)], size_t(kv_dim_)}; }
    std::span<float> value(int64_t layer, int64_t pos) { return {&values_[index(layer, pos)], size_t(kv_dim_)}; }

private:
    size_t index(int64_t layer, int64_t pos) const { return static_cast<size_t>((layer * n_ctx_ + pos) * kv_dim_); }

    int64_t n_ctx_;
    int64_t kv_dim_;
    std::vector<float> keys_;
    std::vector<float> values_;
};

}  // namespace rockllm
