#include "npu/backend/npu_linear.h"

#include <algorithm>
#include <cstring>

#include "npu/matmul_plan.h"

namespace rockllm::npu {

namespace {

// Shards are whole multiples of the int8 weight tile's 32 kernels, so that no tile is split.
constexpr int64_t kShardAlignment = 32;

}  // namespace

CoreWorkResult project_matmul(int64_t m, int64_t k, int64_t n, MatmulType type, const TimingModel& timing) {
    const MatmulPlan plan = plan_matmul({NpuMatmul::planned_m(m), k, n}, type);
    double seconds = timing.job_overhead_s;
    uint64_t bytes = 0;
    for (const MatmulTile& t : plan.tiles) {
        if (t.m0 >= m) continue;
        const TaskCost cost = project_task(t.padded, type, timing);
        seconds += cost.seconds;
        bytes += cost.bytes_read + cost.bytes_written;
    }
    return {0, static_cast<int64_t>(seconds * 1e9), static_cast<int64_t>(bytes)};
}

NpuLinear::NpuLinear(NpuCores& cores, const NpuMatrix& matrix, std::string name, TimingModel timing)
    : cores_(cores), name_(std::move(name)), type_(matrix.type), rows_(matrix.rows), cols_(matrix.cols), timing_(timing) {
    const int64_t per_core = (rows_ + cores.count() - 1) / cores.count();
    const int64_t step = (per_core + kShardAlignment - 1) / kShardAlignment * kShardAlignment;
    for (int core = 0; core < cores.count(); ++core) {
        const int64_t first = core * step;
        if (first >= rows_) break;
        Shard s;
        s.core = core;
        s.first_row = first;
        s.rows = std::min(step, rows_ - first);
        if (matrix.scales) s.scales.assign(matrix.scales + first, matrix.scales + first + s.rows);
        shards_.push_back(std::move(s));
    }
    // Each core packs its own shard into its own buffers, all at once.
    std::vector<CoreWork> work(static_cast<size_t>(cores.count()));
    for (Shard& s : shards_)
        work[static_cast<size_t>(s.core)] = [&s, &matrix, this](NpuDevice& device) {
            s.matmul = std::make_unique<NpuMatmul>(device, type_, s.rows, cols_, matrix.row(s.first_row));
            return CoreWorkResult{};
        };
    try {
        cores.run(work);
    } catch (...) {
        // Buffers must be released by the core that owns them.
        for (Shard& s : shards_)
            if (s.matmul) cores_.run_on(s.core, [&s](NpuDevice&) { s.matmul.reset(); });
        throw;
    }
}

NpuLinear::~NpuLinear() {
    std::vector<CoreWork> work(static_cast<size_t>(cores_.count()));
    for (Shard& s : shards_)
        work[static_cast<size_t>(s.core)] = [&s](NpuDevice&) {
            s.matmul.reset();
            return CoreWorkResult{};
        };
    try {
        cores_.run(work);
    } catch (...) {
        // Releasing buffers does not fail in a way anything could be done about.
    }
}

size_t NpuLinear::device_bytes() const { return static_cast<size_t>(rows_ * cols_) * input_bytes(type_); }

CoreWorkResult NpuLinear::run(const QuantizedActivations& a, int64_t n_tokens, std::span<const OutputSegment> outputs) {
    std::vector<CoreWork> work(static_cast<size_t>(cores_.count()));
    for (Shard& s : shards_)
        work[static_cast<size_t>(s.core)] = [this, &s, &a, n_tokens, outputs](NpuDevice& device) {
            return run_shard(s, device, a, n_tokens, outputs);
        };
    CoreWorkResult call;
    for (const CoreWorkResult& r : cores_.run(work)) {
        call.device_ns = std::max(call.device_ns, r.device_ns);
        call.cpu_ns = std::max(call.cpu_ns, r.cpu_ns);  // the cores' CPU parts run side by side
        call.projected_ns = std::max(call.projected_ns, r.projected_ns);
        call.bytes += r.bytes;
    }
    return call;
}

CoreWorkResult NpuLinear::run_shard(Shard& s, NpuDevice& device, const QuantizedActivations& a, int64_t n_tokens,
                                    std::span<const OutputSegment> outputs) {
    (void)device;  // the shard's NpuMatmul was made on this core's device, which runs it
    s.result.resize(static_cast<size_t>(n_tokens * s.rows));
    s.matmul->run(a.data.data(), n_tokens, s.result.data());
    const int64_t device_ns = s.matmul->last_call().device_ns;
    const int64_t dequantize_start = thread_cpu_ns();
    // Dequantize: int32 · activation scale · weight scale (int8), or fp32 · activation scale (fp16).
    for (const OutputSegment& seg : outputs) {
        const int64_t begin = std::max(seg.first_row, s.first_row), end = std::min(seg.first_row + seg.rows, s.first_row + s.rows);
        if (begin >= end) continue;
        const int64_t count = end - begin;
        for (int64_t t = 0; t < n_tokens; ++t) {
            const float a_scale = a.scales[static_cast<size_t>(t)];
            const int32_t* from = s.result.data() + t * s.rows + (begin - s.first_row);
            float* out = seg.out + t * seg.rows + (begin - seg.first_row);
            if (type_ == MatmulType::Int8) {
                const float* w_scale = s.scales.data() + (begin - s.first_row);
                for (int64_t r = 0; r < count; ++r) out[r] = static_cast<float>(from[r]) * (a_scale * w_scale[r]);
            } else {
                for (int64_t r = 0; r < count; ++r) {
                    float v;
                    std::memcpy(&v, from + r, 4);  // the fp32 result's bits
                    out[r] = v * a_scale;
                }
            }
        }
    }
    if (s.projected_m != n_tokens) {
        s.projection = project_matmul(n_tokens, cols_, s.rows, type_, timing_);
        s.projected_m = n_tokens;
    }
    CoreWorkResult result = s.projection;
    result.device_ns = device_ns;
    result.cpu_ns = s.matmul->last_call().cpu_ns + thread_cpu_ns() - dequantize_start;
    return result;
}

}  // namespace rockllm::npu
