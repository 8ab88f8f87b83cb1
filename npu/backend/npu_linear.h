// One linear layer on the NPU: its converted matrix (Q, K and V fused into one, or gate and up)
// split by rows — output columns — into one shard per core, each shard packed once into its own
// core's buffers. A call quantizes nothing itself: it takes the activations quantized per row,
// runs the shards on their cores at once, and writes each shard's columns, dequantized, into the
// outputs. The shards cover the rows without overlap, so no weight is stored twice.
#pragma once

#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "npu/backend/npu_cores.h"
#include "npu/backend/npu_weights.h"
#include "npu/npu_matmul.h"
#include "npu/simulator.h"

namespace rockllm::npu {

// Where rows [first_row, first_row + rows) of the fused matrix go: out holds n_tokens rows of
// `rows` floats.
struct OutputSegment {
    int64_t first_row = 0, rows = 0;
    float* out = nullptr;
};

class NpuLinear {
public:
    NpuLinear(NpuCores& cores, const NpuMatrix& matrix, std::string name, TimingModel timing);
    ~NpuLinear();
    NpuLinear(const NpuLinear&) = delete;
    NpuLinear& operator=(const NpuLinear&) = delete;

    // Throws NpuError when a core fails; the outputs are then incomplete. Returns the call's
    // projection: the slowest shard's time (the caller waits for all), all shards' bytes.
    CoreWorkResult run(const QuantizedActivations& a, int64_t n_tokens, std::span<const OutputSegment> outputs);

    struct Shard {
        int core = 0;
        int64_t first_row = 0, rows = 0;
        std::unique_ptr<NpuMatmul> matmul;  // used by its core's worker only
        std::vector<float> scales;           // int8: the shard's rows' weight scales
        std::vector<int32_t> result;         // the last call's int32 (or fp32 bits) results, M × rows
        int64_t projected_m = -1;            // the M the cached projection is for
        CoreWorkResult projection;
    };
    const std::vector<Shard>& shards() const { return shards_; }
    const std::string& name() const { return name_; }
    MatmulType type() const { return type_; }
    int64_t rows() const { return rows_; }
    int64_t cols() const { return cols_; }
    size_t device_bytes() const;  // weight bytes resident on the cores

private:
    CoreWorkResult run_shard(Shard& shard, NpuDevice& device, const QuantizedActivations& a, int64_t n_tokens,
                             std::span<const OutputSegment> outputs);

    NpuCores& cores_;
    std::string name_;
    MatmulType type_;
    int64_t rows_, cols_;
    TimingModel timing_;
    std::vector<Shard> shards_;
};

// The projected cost of one shard's job for M rows under the timing model: the tasks NpuMatmul
// runs for them (built for NpuMatmul::planned_m(M) rows, those wholly past M skipped).
CoreWorkResult project_matmul(int64_t m, int64_t k, int64_t n, MatmulType type, const TimingModel& timing);

}  // namespace rockllm::npu
