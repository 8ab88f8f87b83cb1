#include "npu/backend/npu_model.h"

#include <chrono>
#include <cstdio>

#include "llm/layer_tensors.h"
#include "npu/backend/weight_cache.h"
#include "npu/matmul_task.h"

namespace rockllm::npu {

namespace {

using Clock = std::chrono::steady_clock;

// What a core's address window may take for weights: the 4 GiB window less room for the task
// buffers, activations and KV pages.
constexpr size_t kWeightBytesPerCore = size_t{3} << 30;

std::string mib(size_t bytes) {
    char b[32];
    std::snprintf(b, sizeof b, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
    return b;
}

const char* type_name(MatmulType t) { return t == MatmulType::Int8 ? "int8 (W8A8, per-channel weight scales, per-token activation scales)" : "fp16"; }

}  // namespace

// One slot's backend: the NPU for the placed groups, its own CPU kernels for the rest.
class NpuModel::Backend : public MatmulBackend {
public:
    Backend(NpuModel& model, kernels::Isa isa) : model_(model), cpu_(isa) {}
    using MatmulBackend::run;

    void run(std::span<const kernels::MatmulJob> jobs, const float* x, int64_t n_tokens, ThreadPool& pool) override {
        const Group* group = model_.failed() ? nullptr : model_.group_for(jobs);
        if (!group) {
            cpu_.run(jobs, x, n_tokens, pool);
            model_.count(false, 0, {});
            return;
        }
        const auto start = Clock::now();
        try {
            NpuLinear& linear = *group->linear;
            const auto quantize_start = Clock::now();
            quantize_activations(x, n_tokens, linear.cols(), linear.type(), activations_);
            const auto quantized = Clock::now();
            segments_.clear();
            int64_t first = 0;
            for (const kernels::MatmulJob& job : jobs) {
                segments_.push_back({first, job.weights->rows, job.out});
                first += job.weights->rows;
            }
            CoreWorkResult projected = linear.run(activations_, n_tokens, segments_);
            projected.cpu_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(quantized - quantize_start).count();
            model_.count(true, std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count(), projected);
        } catch (const std::exception& e) {
            model_.fail(e.what());
            cpu_.run(jobs, x, n_tokens, pool);
            model_.count(false, 0, {});
        }
    }

private:
    NpuModel& model_;
    CpuMatmulBackend cpu_;
    QuantizedActivations activations_;
    std::vector<OutputSegment> segments_;
};

std::vector<NpuMatrixGroup> npu_matrix_groups(const Model& model) {
    std::vector<NpuMatrixGroup> groups;
    for (size_t l = 0; l < model.layers.size(); ++l) {
        const LayerWeights& w = model.layers[l];
        for (const MatmulGroup& group : matmul_groups()) {
            NpuMatrixGroup g{"blk." + std::to_string(l) + "." + group.name, {}};
            // A mixture of experts has no dense FFN matrices; its experts stay on the CPU.
            for (WeightMatrix LayerWeights::*part : group.parts)
                if ((w.*part).rows > 0) g.parts.push_back(&(w.*part));
            if (!g.parts.empty()) groups.push_back(std::move(g));
        }
    }
    groups.push_back({"output", {&model.output}});
    return groups;
}

std::vector<NpuMatrixGroup> npu_matrix_groups(const BertModel& model) {
    std::vector<NpuMatrixGroup> groups;
    for (size_t l = 0; l < model.layers.size(); ++l) {
        const BertLayer& w = model.layers[l];
        for (const BertMatrixGroup& group : bert_matrix_groups(model.config)) {
            NpuMatrixGroup g{"blk." + std::to_string(l) + "." + group.name, {}};
            for (WeightMatrix BertLayer::*part : group.parts) g.parts.push_back(&(w.*part));
            groups.push_back(std::move(g));
        }
    }
    return groups;
}

int64_t npu_weight_bytes(const std::vector<NpuMatrixGroup>& groups, MatmulType type) {
    int64_t elements = 0;
    for (const NpuMatrixGroup& g : groups)
        for (const WeightMatrix* w : g.parts) elements += w->rows * w->cols;
    return elements * static_cast<int64_t>(input_bytes(type));
}

NpuModel::NpuModel(const Model& model, NpuCores& cores, NpuModelOptions options, ThreadPool& pool)
    : NpuModel(npu_matrix_groups(model),
               "embedding look-ups, norms, RoPE, attention over the KV cache, activations, sampling", cores, std::move(options), pool) {}

NpuModel::NpuModel(const std::vector<NpuMatrixGroup>& wanted, const std::string& on_cpu, NpuCores& cores, NpuModelOptions options,
                   ThreadPool& pool)
    : cores_(cores), options_(std::move(options)) {
    const auto start = Clock::now();
    std::unique_ptr<WeightCacheReader> cache;
    std::unique_ptr<WeightCacheWriter> writer;
    std::filesystem::path cache_path;
    if (!options_.cache_dir.empty() && !options_.digest.empty()) {
        cache_path = weight_cache_path(options_.cache_dir, options_.digest, options_.type);
        std::string why_not;
        cache = WeightCacheReader::open(cache_path, options_.digest, options_.type, why_not);
        if (!cache) {
            options_.log("npu: " + why_not + "; converting the weights");
            try {
                writer = std::make_unique<WeightCacheWriter>(cache_path, options_.digest, options_.type);
            } catch (const std::exception& e) {
                options_.log(std::string("npu: the converted weights will not be cached: ") + e.what());
            }
        }
    }

    std::vector<size_t> core_bytes(static_cast<size_t>(cores.count()), 0);
    std::vector<std::string> left_on_cpu;
    bool writer_complete = true;
    for (const NpuMatrixGroup& g : wanted) {
        int64_t rows = 0;
        for (const WeightMatrix* p : g.parts) rows += p->rows;
        const int64_t cols = g.parts[0]->cols;
        const size_t bytes = static_cast<size_t>(rows * cols) * input_bytes(options_.type);
        if (core_bytes[0] + bytes / static_cast<size_t>(cores.count()) + static_cast<size_t>(cols) * 32 > kWeightBytesPerCore) {
            left_on_cpu.push_back(g.name + " (the cores' address windows are full)");
            writer_complete = false;
            continue;
        }
        try {
            std::optional<NpuMatrix> matrix = cache ? cache->find(g.name, rows, cols) : std::nullopt;
            if (matrix) {
                ++from_cache_;
            } else {
                matrix = convert_for_npu(g.parts, options_.type, pool);
                ++converted_;
                if (writer) writer->add(g.name, *matrix);
            }
            auto linear = std::make_unique<NpuLinear>(cores, *matrix, g.name, options_.timing);
            for (const NpuLinear::Shard& s : linear->shards())
                core_bytes[static_cast<size_t>(s.core)] += static_cast<size_t>(s.rows * cols) * input_bytes(options_.type);
            groups_[g.parts[0]] = {g.parts, linear.get()};
            linears_.push_back(std::move(linear));
        } catch (const NpuError& e) {
            left_on_cpu.push_back(g.name + " (" + e.what() + ")");
            writer_complete = false;
        }
    }
    if (cache && converted_ > 0) options_.log("npu: the weight cache lacked " + std::to_string(converted_) + " matrices");
    if (writer) {
        try {
            if (writer_complete) {
                writer->commit();
                options_.log("npu: converted weights cached in " + cache_path.string());
            }
        } catch (const std::exception& e) {
            options_.log(std::string("npu: the converted weights could not be cached: ") + e.what());
        }
    }
    cache.reset();  // the cores hold their own packed copies now

    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    char line[256];
    std::snprintf(line, sizeof line, "npu: %zu of %zu matrix groups on %d cores in %s, %s of weights (%lld converted, %lld from the cache, %.1f s)",
                  linears_.size(), wanted.size(), cores.count(), type_name(options_.type), mib(device_bytes()).c_str(),
                  static_cast<long long>(converted_), static_cast<long long>(from_cache_), seconds);
    options_.log(line);
    options_.log("npu: on the NPU: the matrix groups placed above (Q/K/V and FFN gate/up each fused into one); on the CPU: " + on_cpu);
    for (const std::string& what : left_on_cpu) options_.log("npu: left on the CPU: " + what);
}

NpuModel::~NpuModel() = default;

std::unique_ptr<MatmulBackend> NpuModel::make_backend(kernels::Isa isa) { return std::make_unique<Backend>(*this, isa); }

const NpuModel::Group* NpuModel::group_for(std::span<const kernels::MatmulJob> jobs) const {
    if (jobs.empty()) return nullptr;
    const auto it = groups_.find(jobs[0].weights);
    if (it == groups_.end() || it->second.parts.size() != jobs.size()) return nullptr;
    for (size_t i = 0; i < jobs.size(); ++i)
        if (it->second.parts[i] != jobs[i].weights) return nullptr;
    return &it->second;
}

size_t NpuModel::device_bytes() const {
    size_t total = 0;
    for (const auto& l : linears_) total += l->device_bytes();
    return total;
}

void NpuModel::fail(const std::string& reason) {
    std::lock_guard lock(mutex_);
    if (failed_.exchange(true)) return;  // logged once
    failure_ = reason;
    options_.log("npu: a job failed (" + reason + "); this model's matrix products run on the CPU from now on");
}

std::string NpuModel::failure() const {
    std::lock_guard lock(mutex_);
    return failure_;
}

void NpuModel::count(bool on_npu, int64_t wall_ns, const CoreWorkResult& projected) {
    std::lock_guard lock(mutex_);
    if (on_npu) {
        stats_.npu_calls += 1;
        stats_.npu_wall_ns += wall_ns;
        stats_.device_ns += projected.device_ns;
        stats_.cpu_ns += projected.cpu_ns;
        stats_.projected_ns += projected.projected_ns;
        stats_.bytes += projected.bytes;
    } else {
        stats_.cpu_calls += 1;
    }
}

NpuCallStats NpuModel::call_stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

void NpuModel::reset_call_stats() {
    std::lock_guard lock(mutex_);
    stats_ = {};
}

}  // namespace rockllm::npu
