#include "llm/kernels/matmul.h"

#include <algorithm>
#include <stdexcept>

#include "base/half.h"

namespace rockllm::kernels {

namespace {
// Cache blocking for prompt batches: a block of weight rows stays in L2 while tiles of activation
// rows (small enough for L1) pass over it, so each weight byte comes from memory once per batch.
constexpr int64_t kRowBlock = 64;
constexpr int64_t kTokenTile = 16;
}  // namespace

const Matmul::Activations& Matmul::quantized_input(GgmlType type, const float* x, int64_t cols, int64_t n_tokens,
                                                   ThreadPool& pool) {
    for (size_t i = 0; i < inputs_in_use_; ++i)
        if (inputs_[i].type == type) return inputs_[i];
    if (inputs_in_use_ == inputs_.size()) inputs_.emplace_back();
    Activations& a = inputs_[inputs_in_use_++];
    a.type = type;
    a.row_bytes = activation_row_bytes(type, cols);
    a.data.resize(a.row_bytes * static_cast<size_t>(n_tokens));
    if (n_tokens == 1) {
        quantize_activations(type, x, a.data.data(), cols);
    } else {
        pool.parallel_for(n_tokens, [&](int64_t begin, int64_t end) {
            for (int64_t t = begin; t < end; ++t)
                quantize_activations(type, x + t * cols, a.data.data() + t * a.row_bytes, cols);
        });
    }
    return a;
}

void Matmul::prepare_interleaved_input(const Activations& q8, int64_t cols, int64_t n_tokens) {
    const int64_t n_blocks = cols / quant::kQK;
    q8_rows_.resize(static_cast<size_t>(n_tokens));
    q8_scales_.resize(static_cast<size_t>(n_tokens * n_blocks));
    q8_sums_.resize(static_cast<size_t>(n_tokens * n_blocks));
    for (int64_t t = 0; t < n_tokens; ++t) {
        const auto* row = reinterpret_cast<const quant::BlockQ8_0*>(q8.data.data() + static_cast<size_t>(t) * q8.row_bytes);
        q8_rows_[static_cast<size_t>(t)] = row;
        for (int64_t b = 0; b < n_blocks; ++b) {
            int32_t sum = 0;
            for (int8_t q : row[b].qs) sum += q;
            q8_scales_[static_cast<size_t>(t * n_blocks + b)] = fp16_to_fp32(row[b].d);
            q8_sums_[static_cast<size_t>(t * n_blocks + b)] = sum;
        }
    }
}

void Matmul::run_interleaved(const WeightMatrix& w, float* out, int64_t row_begin, int64_t row_end, int64_t n_tokens) const {
    const int64_t n_blocks = w.cols / quant::kQK;
    const InterleavedKernels simd = interleaved_kernels(isa_, w.type);
    const bool use_simd = simd.kernel && simd.bias == w.quant_bias;
    const InterleavedKernel kernel = use_simd ? simd.kernel : interleaved_scalar(w.type);
    const int max_tokens = use_simd ? simd.max_tokens : 4;
    const InterleavedInput input{q8_rows_.data(), q8_scales_.data(), q8_sums_.data(), w.quant_bias};
    const size_t group_bytes = w.row_bytes * kInterleavedRows;
    for (int64_t r = row_begin; r < row_end; r += kInterleavedRows) {
        const uint8_t* group = w.data + static_cast<size_t>(r / kInterleavedRows) * group_bytes;
        for (int64_t t = 0; t < n_tokens; t += max_tokens) {
            const int n = static_cast<int>(std::min<int64_t>(max_tokens, n_tokens - t));
            kernel(n_blocks, group, input, t, n, out + t * w.rows + r, w.rows);
        }
    }
}

void Matmul::run(std::span<const MatmulJob> jobs, const float* x, int64_t n_tokens, ThreadPool& pool) {
    if (jobs.empty()) return;
    const int64_t cols = jobs[0].weights->cols;
    struct Prepared {
        const WeightMatrix* w;
        float* out;
        VecDot dot;
        const Activations* input;
        int64_t first_row;  // index of this job's first row in the concatenation of all jobs
    };
    std::vector<Prepared> prepared;
    inputs_in_use_ = 0;
    int64_t total_rows = 0;
    for (const MatmulJob& job : jobs) {
        if (job.weights->cols != cols) throw std::invalid_argument("matmul jobs must share the input width");
        const VecDot dot = vec_dot_for(job.weights->type, isa_);
        prepared.push_back({job.weights, job.out, dot, nullptr, total_rows});
        total_rows += job.weights->rows;
    }
    bool any_interleaved = false;
    for (Prepared& p : prepared) {
        p.input = &quantized_input(p.dot.activation_type, x, cols, n_tokens, pool);
        if (p.w->layout == WeightLayout::Interleaved8) {
            if (!any_interleaved) prepare_interleaved_input(*p.input, cols, n_tokens);
            any_interleaved = true;
        }
    }

    pool.parallel_for(total_rows, [&](int64_t begin, int64_t end) {
        for (const Prepared& p : prepared) {
            int64_t row_begin = std::max(begin, p.first_row) - p.first_row;
            int64_t row_end = std::min(end, p.first_row + p.w->rows) - p.first_row;
            if (p.w->layout == WeightLayout::Interleaved8) {
                // Whole groups of 8 rows: a boundary inside one moves down to its start, in the
                // range that ends there and in the one that begins there alike.
                row_begin = std::clamp<int64_t>(row_begin, 0, p.w->rows) / kInterleavedRows * kInterleavedRows;
                row_end = std::clamp<int64_t>(row_end, 0, p.w->rows) / kInterleavedRows * kInterleavedRows;
                if (row_begin < row_end) run_interleaved(*p.w, p.out, row_begin, row_end, n_tokens);
                continue;
            }
            const uint8_t* act = p.input->data.data();
            const size_t act_bytes = p.input->row_bytes;
            const int64_t rows = p.w->rows;
            for (int64_t r0 = row_begin; r0 < row_end; r0 += kRowBlock) {
                const int64_t r1 = std::min(row_end, r0 + kRowBlock);
                for (int64_t t0 = 0; t0 < n_tokens; t0 += kTokenTile) {
                    const int64_t t1 = std::min(n_tokens, t0 + kTokenTile);
                    int64_t r = r0;
                    if (p.dot.tile) {
                        // Four rows x four tokens at a time; what does not fill a tile goes below.
                        const int64_t t_end = t0 + (t1 - t0) / 4 * 4;
                        for (; r + 4 <= r1 && t_end > t0; r += 4) {
                            const void* w4[4] = {p.w->row(r), p.w->row(r + 1), p.w->row(r + 2), p.w->row(r + 3)};
                            for (int64_t t = t0; t < t_end; t += 4) {
                                const void* a4[4] = {act + t * act_bytes, act + (t + 1) * act_bytes,
                                                     act + (t + 2) * act_bytes, act + (t + 3) * act_bytes};
                                float tile[4][4];
                                p.dot.tile(cols, w4, a4, tile);
                                for (int i = 0; i < 4; ++i)
                                    for (int k = 0; k < 4; ++k) p.out[(t + k) * rows + r + i] = tile[i][k];
                            }
                            for (int64_t t = t_end; t < t1; ++t)
                                for (int i = 0; i < 4; ++i)
                                    p.out[t * rows + r + i] = p.dot.fn(cols, p.w->row(r + i), act + t * act_bytes);
                        }
                    }
                    for (; r < r1; ++r) {
                        const uint8_t* weights = p.w->row(r);
                        int64_t t = t0;
                        if (p.dot.fn4) {
                            for (; t + 4 <= t1; t += 4) {
                                const void* a4[4] = {act + t * act_bytes, act + (t + 1) * act_bytes,
                                                     act + (t + 2) * act_bytes, act + (t + 3) * act_bytes};
                                float out4[4];
                                p.dot.fn4(cols, weights, a4, out4);
                                for (int k = 0; k < 4; ++k) p.out[(t + k) * rows + r] = out4[k];
                            }
                        }
                        for (; t < t1; ++t) p.out[t * rows + r] = p.dot.fn(cols, weights, act + t * act_bytes);
                    }
                }
            }
        }
    });
}

}  // namespace rockllm::kernels
