#include "npu/npu_matmul.h"

#include <chrono>
#include <cstring>

#include "npu/matmul_task.h"
#include "npu/regcmd.h"

namespace rockllm::npu {

NpuMatmul::NpuMatmul(NpuDevice& device, MatmulType type, int64_t n, int64_t k, const void* b)
    : device_(device), type_(type), n_(n), k_(k) {
    const size_t bpe = input_bytes(type);
    const MatmulPlan plan = plan_matmul({4, k, n}, type);  // the N and K tiling does not depend on M
    try {
        for (const MatmulTile& t : plan.tiles) {
            DeviceBuffer buffer = device_.allocate(weight_bytes(t.padded, type));
            weights_[{t.n0, t.k0}] = buffer;
            const auto* rows = static_cast<const uint8_t*>(b) + (static_cast<size_t>(t.n0 * k + t.k0)) * bpe;
            pack_weights(rows, k, {t.shape.m, t.shape.k, t.shape.n}, type, buffer.host);
            device_.cpu_write_done(buffer);
        }
    } catch (...) {
        for (auto& [key, buffer] : weights_) device_.release(buffer);
        throw;
    }
}

NpuMatmul::~NpuMatmul() {
    release_tasks();
    for (auto& [key, buffer] : weights_) device_.release(buffer);
}

namespace {
using Clock = std::chrono::steady_clock;
int64_t ns_between(Clock::time_point a, Clock::time_point b) { return std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count(); }
}  // namespace

void NpuMatmul::release_tasks() {
    if (!tasks_) return;
    for (auto* list : {&tasks_->features, &tasks_->outputs, &tasks_->commands})
        for (const DeviceBuffer& b : *list) device_.release(b);
    tasks_.reset();
}

void NpuMatmul::prepare(int64_t m) {
    release_tasks();
    auto p = std::make_unique<Prepared>();
    p->m = m;
    p->plan = plan_matmul({m, k_, n_}, type_);
    try {
        for (const MatmulTile& t : p->plan.tiles) {
            const DeviceBuffer& feature = p->features.emplace_back(device_.allocate(feature_bytes(t.padded, type_)));
            const DeviceBuffer& output = p->outputs.emplace_back(device_.allocate(output_bytes(t.padded)));
            const std::vector<uint64_t> regcmd =
                build_matmul_task(t.padded, type_, {feature.iova, weights_.at({t.n0, t.k0}).iova, output.iova});
            const DeviceBuffer& commands = p->commands.emplace_back(device_.allocate(regcmd.size() * 8));
            std::memcpy(commands.host, regcmd.data(), regcmd.size() * 8);
            device_.cpu_write_done(commands);
            p->tasks.push_back({commands.iova, static_cast<uint32_t>(regcmd.size())});
        }
    } catch (...) {
        tasks_ = std::move(p);
        release_tasks();
        throw;
    }
    tasks_ = std::move(p);
}

void NpuMatmul::run(const void* a, int64_t m, void* c) {
    const auto start = Clock::now();
    const size_t bpe = input_bytes(type_);
    // The tasks for this M: built once and kept, so that repeated calls of one shape (a decode
    // step's M = 1) only pack A, run, and unpack C.
    if (!tasks_ || tasks_->m != m) prepare(m);
    Prepared& p = *tasks_;
    for (size_t i = 0; i < p.plan.tiles.size(); ++i) {
        const MatmulTile& t = p.plan.tiles[i];
        const auto* rows = static_cast<const uint8_t*>(a) + static_cast<size_t>(t.m0 * k_ + t.k0) * bpe;
        pack_feature(rows, k_, t.shape, type_, p.features[i].host);
        device_.cpu_write_done(p.features[i]);
    }
    const MatmulPlan& plan = p.plan;
    const std::vector<DeviceBuffer>& outputs = p.outputs;
    const std::vector<TaskRef>& tasks = p.tasks;
    const auto packed = Clock::now();
    device_.run(tasks, outputs);
    const auto ran = Clock::now();

    // Unpack each tile and add the K blocks of one output tile together.
    std::vector<uint8_t> tile_result;
    for (size_t i = 0; i < plan.tiles.size(); ++i) {
        const MatmulTile& t = plan.tiles[i];
        tile_result.resize(static_cast<size_t>(t.shape.m * t.shape.n) * 4);
        unpack_output(outputs[i].host, t.shape, type_, tile_result.data(), t.shape.n);
        for (int64_t row = 0; row < t.shape.m; ++row)
            for (int64_t col = 0; col < t.shape.n; ++col) {
                const size_t at = static_cast<size_t>((t.m0 + row) * n_ + t.n0 + col);
                const size_t from = static_cast<size_t>(row * t.shape.n + col) * 4;
                if (type_ == MatmulType::Int8) {
                    int32_t v;
                    std::memcpy(&v, tile_result.data() + from, 4);
                    auto* out = static_cast<int32_t*>(c);
                    out[at] = t.k0 == 0 ? v : out[at] + v;
                } else {
                    float v;
                    std::memcpy(&v, tile_result.data() + from, 4);
                    auto* out = static_cast<float*>(c);
                    out[at] = t.k0 == 0 ? v : out[at] + v;
                }
            }
    }
    last_call_ = {ns_between(start, packed), ns_between(packed, ran), ns_between(ran, Clock::now())};
}

}  // namespace rockllm::npu
