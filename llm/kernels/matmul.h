// out = x · Wᵀ for a batch of activation rows: the activations are quantized once to the weight
// type's 8-bit partner format, then the weight rows are split across the threads and each weight
// row is multiplied with every activation row while it is in cache.
#pragma once

#include <cstdint>
#include <vector>

#include "llm/kernels/vec_dot.h"
#include "llm/thread_pool.h"
#include "llm/weights.h"

namespace rockllm::kernels {

class Matmul {
public:
    explicit Matmul(Isa isa = detected_isa()) : isa_(isa) {}

    // x: n_tokens rows of w.cols floats; out: n_tokens rows of w.rows floats.
    void run(const WeightMatrix& w, const float* x, int64_t n_tokens, float* out, ThreadPool& pool);

private:
    Isa isa_;
    std::vector<uint8_t> activations_;  // reused between calls
};

}  // namespace rockllm::kernels
