#include "kv_cache.h"

#include <cstring>
#include <stdexcept>

namespace rockllm {

KvCache::KvCache(int64_t n_layer, int64_t n_ctx, int64_t kv_dim, GgmlType type)
    : n_layer_(n_layer), n_ctx_(n_ctx), kv_dim_(kv_dim), type_(type) {
    if (type != GgmlType::F16 && type != GgmlType::F32)
        throw std::invalid_argument("KV cache type must be F16 or F32");
    element_bytes_ = type == GgmlType::F16 ? 2 : 4;
    const size_t bytes = static_cast<size_t>(n_layer * n_ctx * kv_dim) * element_bytes_;
    keys_.resize(bytes);
    values_.resize(bytes);
}

void KvCache::store(std::vector<uint8_t>& storage, int64_t layer, int64_t pos, const float* x) {
    uint8_t* dst = storage.data() + offset(layer, pos);
    if (type_ == GgmlType::F32) {
        std::memcpy(dst, x, static_cast<size_t>(kv_dim_) * 4);
        return;
    }
    auto* h = reinterpret_cast<uint16_t*>(dst);
    for (int64_t i = 0; i < kv_dim_; ++i) h[i] = fp32_to_fp16(x[i]);
}

void KvCache::load_key(int64_t layer, int64_t pos, float* k) const {
    const uint8_t* src = keys_.data() + offset(layer, pos);
    if (type_ == GgmlType::F32) {
        std::memcpy(k, src, static_cast<size_t>(kv_dim_) * 4);
        return;
    }
    const auto* h = reinterpret_cast<const uint16_t*>(src);
    for (int64_t i = 0; i < kv_dim_; ++i) k[i] = fp16_to_fp32(h[i]);
}

void KvCache::erase(int64_t begin, int64_t count, int64_t used) {
    if (begin < 0 || count < 0 || begin + count > used || used > n_ctx_)
        throw std::out_of_range("KV cache erase outside the used positions");
    const size_t moved = static_cast<size_t>(used - begin - count) * static_cast<size_t>(kv_dim_) * element_bytes_;
    for (int64_t l = 0; l < n_layer_; ++l) {
        std::memmove(keys_.data() + offset(l, begin), keys_.data() + offset(l, begin + count), moved);
        std::memmove(values_.data() + offset(l, begin), values_.data() + offset(l, begin + count), moved);
    }
}

void KvCache::store_key(int64_t layer, int64_t pos, const float* k) { store(keys_, layer, pos, k); }
void KvCache::store_value(int64_t layer, int64_t pos, const float* v) { store(values_, layer, pos, v); }

}  // namespace rockllm
