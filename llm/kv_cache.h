// Keys and values of every past position, per layer, so each new token attends without recomputation.
// Stored as F16 by default (half the memory, as llama.cpp and Ollama do) or F32.
#pragma once

#include <cstdint>
#include <vector>

#include "ggml_type.h"

namespace rockllm {

class KvCache {
public:
    KvCache(int64_t n_layer, int64_t n_ctx, int64_t kv_dim, GgmlType type);
    int64_t kv_dim() const { return kv_dim_; }

    int64_t n_ctx() const { return n_ctx_; }
    GgmlType type() const { return type_; }

    // Raw storage of one position's keys or values (kv_dim elements of type()).
    void* key(int64_t layer, int64_t pos) { return keys_.data() + offset(layer, pos); }
    void* value(int64_t layer, int64_t pos) { return values_.data() + offset(layer, pos); }
    const void* key(int64_t layer, int64_t pos) const { return keys_.data() + offset(layer, pos); }
    const void* value(int64_t layer, int64_t pos) const { return values_.data() + offset(layer, pos); }

    void store_key(int64_t layer, int64_t pos, const float* k);
    void store_value(int64_t layer, int64_t pos, const float* v);
    void load_key(int64_t layer, int64_t pos, float* k) const;

    // Removes positions [begin, begin + count) of every layer, moving positions up to `used` down.
    void erase(int64_t begin, int64_t count, int64_t used);

private:
    size_t offset(int64_t layer, int64_t pos) const {
        return static_cast<size_t>((layer * n_ctx_ + pos) * kv_dim_) * element_bytes_;
    }
    void store(std::vector<uint8_t>& storage, int64_t layer, int64_t pos, const float* x);

    int64_t n_layer_;
    int64_t n_ctx_;
    int64_t kv_dim_;
    GgmlType type_;
    size_t element_bytes_;
    std::vector<uint8_t> keys_, values_;
};

}  // namespace rockllm
