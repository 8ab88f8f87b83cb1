// out = x · Wᵀ for a batch of activation rows: the activations are quantized once to the weight
// type's 8-bit partner format, then the weight rows are split across the threads and each weight
// row is multiplied with every activation row while it is in cache. Several matrices that read the
// same input (Q, K and V; FFN gate and up) run as one job, so the input is quantized once and the
// threads meet once.
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <vector>

#include "llm/kernels/interleaved.h"
#include "llm/kernels/vec_dot.h"
#include "llm/thread_pool.h"
#include "llm/weights.h"

namespace rockllm::kernels {

struct MatmulJob {
    const WeightMatrix* weights;
    float* out;  // n_tokens rows of weights->rows floats
};

class Matmul {
public:
    explicit Matmul(Isa isa = detected_isa()) : isa_(isa) {}

    // x: n_tokens rows of cols floats, where every job's matrix has `cols` columns.
    void run(std::span<const MatmulJob> jobs, const float* x, int64_t n_tokens, ThreadPool& pool);
    void run(const WeightMatrix& w, const float* x, int64_t n_tokens, float* out, ThreadPool& pool) {
        const MatmulJob job{&w, out};
        run(std::span(&job, 1), x, n_tokens, pool);
    }

private:
    struct Activations {
        GgmlType type;
        size_t row_bytes;
        std::vector<uint8_t> data;
    };
    const Activations& quantized_input(GgmlType type, const float* x, int64_t cols, int64_t n_tokens, ThreadPool& pool);
    // The Q8_0 activations as the interleaved kernels read them (block scales as floats, block sums).
    void prepare_interleaved_input(const Activations& q8, int64_t cols, int64_t n_tokens);
    // Rows [row_begin, row_end) (multiples of 8) of an interleaved matrix times every activation row.
    void run_interleaved(const WeightMatrix& w, float* out, int64_t row_begin, int64_t row_end, int64_t n_tokens) const;

    Isa isa_;
    // One per activation format in use, buffers reused between calls. A deque: adding a format
    // keeps the ones already handed to earlier jobs of the group where they are.
    std::deque<Activations> inputs_;
    size_t inputs_in_use_ = 0;
    std::vector<const quant::BlockQ8_0*> q8_rows_;
    std::vector<float> q8_scales_;
    std::vector<int32_t> q8_sums_;
};

}  // namespace rockllm::kernels
