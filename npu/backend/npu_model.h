// The NPU's part of one loaded model: which matrices run on the NPU, their weights resident on the
// three cores (shared by the model's slots), and the MatmulBackend each slot's forward pass uses.
//
// Placement rule (logged at load):
//  1. Each layer's Q, K and V (as one matrix), attention output, FFN gate and up (as one matrix),
//     FFN down, and the output head run on the NPU: they are the matrix products, ~all the FLOPs.
//  2. The rest stays on the CPU: token embedding look-ups (a row copy, no product), norms, RoPE,
//     attention over the KV cache, activation functions, sampling — vector work that takes the
//     CPU less time than one NPU submit costs.
//  3. A matrix is left on the CPU, with a log line saying why, when the NPU cannot hold it: a core's
//     32-bit address window is full (matrices are placed in the order above), fp16 cannot hold one
//     of its values, or it is larger than the planner takes.
// Should the NPU fail a job (an error, a timeout), the call is finished on the CPU, the reason is
// logged once, and every later call of the model goes to the CPU.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "llm/matmul_backend.h"
#include "llm/bert_model.h"
#include "llm/model.h"
#include "npu/backend/npu_cores.h"
#include "npu/backend/npu_linear.h"

namespace rockllm::npu {

struct NpuModelOptions {
    MatmulType type = MatmulType::Int8;
    // Converted weights are cached here, keyed by the model file's digest ("" for either: no cache).
    std::filesystem::path cache_dir;
    std::string digest;
    TimingModel timing;
    std::function<void(const std::string&)> log = [](const std::string&) {};
};

// Where calls went and what the timing model projects for them; counted over all slots.
struct NpuCallStats {
    int64_t npu_calls = 0, cpu_calls = 0;
    int64_t npu_wall_ns = 0;        // host time inside NPU calls (quantizing, the cores, dequantizing)
    int64_t device_ns = 0;          // of which waiting for the device: per call the slowest core
    int64_t cpu_ns = 0;             // of which the CPU's work: quantizing, and per call the slowest core's packing and unpacking
    int64_t projected_ns = 0;       // the timing model's time for them: per call the slowest core
    int64_t bytes = 0;              // NPU memory traffic of their tasks
};

// Matrices that read the same input, placed on the NPU as one matrix: "blk.N.attn_qkv".
struct NpuMatrixGroup {
    std::string name;
    std::vector<const WeightMatrix*> parts;
};
// A decoder's groups: each layer's (llm/layer_tensors.h) and the output head.
std::vector<NpuMatrixGroup> npu_matrix_groups(const Model& model);
// An encoder's: each layer's (llm/bert_model.h).
std::vector<NpuMatrixGroup> npu_matrix_groups(const BertModel& model);
// Bytes the NPU's copies of these matrices take: a byte or two per weight.
int64_t npu_weight_bytes(const std::vector<NpuMatrixGroup>& groups, MatmulType type);

class NpuModel {
public:
    // Places the groups in order while the cores' address windows have room; the rest stays on
    // the CPU. on_cpu says what the CPU still does, for the log.
    NpuModel(const std::vector<NpuMatrixGroup>& groups, const std::string& on_cpu, NpuCores& cores, NpuModelOptions options,
             ThreadPool& pool);
    NpuModel(const Model& model, NpuCores& cores, NpuModelOptions options, ThreadPool& pool);
    ~NpuModel();

    // A backend for one Transformer (one slot): placed matrices go to the NPU, the rest to its own
    // CPU kernels.
    std::unique_ptr<MatmulBackend> make_backend(kernels::Isa isa = kernels::detected_isa());

    MatmulType type() const { return options_.type; }
    const std::vector<std::unique_ptr<NpuLinear>>& linears() const { return linears_; }
    int64_t converted() const { return converted_; }    // matrices converted at this load
    int64_t from_cache() const { return from_cache_; }  // matrices read from the weight cache
    size_t device_bytes() const;
    bool failed() const { return failed_.load(); }
    std::string failure() const;
    NpuCallStats call_stats() const;
    void reset_call_stats();
    NpuCores& cores() { return cores_; }

private:
    class Backend;
    struct Group {
        std::vector<const WeightMatrix*> parts;
        NpuLinear* linear;
    };
    const Group* group_for(std::span<const kernels::MatmulJob> jobs) const;
    void fail(const std::string& reason);
    void count(bool on_npu, int64_t wall_ns, const CoreWorkResult& projected);

    NpuCores& cores_;
    NpuModelOptions options_;
    std::vector<std::unique_ptr<NpuLinear>> linears_;
    std::map<const WeightMatrix*, Group> groups_;  // by the group's first matrix
    int64_t converted_ = 0, from_cache_ = 0;
    std::atomic<bool> failed_{false};
    mutable std::mutex mutex_;  // failure_ and stats_
    std::string failure_;
    NpuCallStats stats_;
};

}  // namespace rockllm::npu
