// The seam between the forward pass and whatever multiplies its matrices. The transformer hands
// every product to a MatmulBackend: the CPU backend runs the quantized kernels; the NPU backend
// (npu/backend/) runs the matrices it placed on the NPU and hands the rest to a CPU backend.
#pragma once

#include <span>

#include "llm/kernels/matmul.h"
#include "llm/thread_pool.h"

namespace rockllm {

class MatmulBackend {
public:
    virtual ~MatmulBackend() = default;
    // Every job's matrix times the same n_tokens rows of x (each `cols` floats): jobs that share
    // an input come together (Q, K and V; FFN gate and up) so that a backend may run them as one.
    virtual void run(std::span<const kernels::MatmulJob> jobs, const float* x, int64_t n_tokens, ThreadPool& pool) = 0;
    void run(const WeightMatrix& w, const float* x, int64_t n_tokens, float* out, ThreadPool& pool) {
        const kernels::MatmulJob job{&w, out};
        run(std::span(&job, 1), x, n_tokens, pool);
    }
};

class CpuMatmulBackend : public MatmulBackend {
public:
    explicit CpuMatmulBackend(kernels::Isa isa = kernels::detected_isa()) : matmul_(isa) {}
    using MatmulBackend::run;
    void run(std::span<const kernels::MatmulJob> jobs, const float* x, int64_t n_tokens, ThreadPool& pool) override {
        matmul_.run(jobs, x, n_tokens, pool);
    }

private:
    kernels::Matmul matmul_;
};

}  // namespace rockllm
