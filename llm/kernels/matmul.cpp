#include "llm/kernels/matmul.h"

#include <algorithm>

namespace rockllm::kernels {

namespace {
// Cache blocking for prompt batches: a block of weight rows stays in L2 while tiles of activation
// rows (small enough for L1) pass over it, so each weight byte comes from memory once per batch.
constexpr int64_t kRowBlock = 64;
constexpr int64_t kTokenTile = 16;
}

void Matmul::run(const WeightMatrix& w, const float* x, int64_t n_tokens, float* out, ThreadPool& pool) {
    const VecDot dot = vec_dot_for(w.type, isa_);
    const size_t row_bytes = activation_row_bytes(dot.activation_type, w.cols);
    activations_.resize(row_bytes * static_cast<size_t>(n_tokens));
    uint8_t* act = activations_.data();

    if (n_tokens == 1) {
        quantize_activations(dot.activation_type, x, act, w.cols);
    } else {
        pool.parallel_for(n_tokens, [&](int64_t begin, int64_t end) {
            for (int64_t t = begin; t < end; ++t)
                quantize_activations(dot.activation_type, x + t * w.cols, act + t * row_bytes, w.cols);
        });
    }

    pool.parallel_for(w.rows, [&](int64_t row_begin, int64_t row_end) {
        for (int64_t r0 = row_begin; r0 < row_end; r0 += kRowBlock) {
            const int64_t r1 = std::min(row_end, r0 + kRowBlock);
            for (int64_t t0 = 0; t0 < n_tokens; t0 += kTokenTile) {
                const int64_t t1 = std::min(n_tokens, t0 + kTokenTile);
                for (int64_t r = r0; r < r1; ++r) {
                    const uint8_t* weights = w.row(r);
                    for (int64_t t = t0; t < t1; ++t)
                        out[t * w.rows + r] = dot.fn(w.cols, weights, act + t * row_bytes);
                }
            }
        }
    });
}

}  // namespace rockllm::kernels
