#include "kv_cache.h"

#include <cstring>
#include <stdexcept>

namespace rockllm {

KvCache::KvCache(int64_t n_layer, int64_t n_ctx, int64_t kv_dim, GgmlType type)
    : n_ctx_(n_ctx), kv_dim_(kv_dim), type_(type) {
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

void KvCache::store_key(int64_t layer, int64_t pos, const float* k) { store(keys_, layer, pos, k); }
void KvCache::store_value(int64_t layer, int64_t pos, const float* v) { store(values_, layer, pos, v); }

}  // namespace rockllm
