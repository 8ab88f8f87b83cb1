#include "npu/npu_matmul.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstring>

#include "npu/matmul_task.h"
#include "npu/regcmd.h"
#include "npu/simulator.h"

namespace rockllm::npu {

int64_t thread_cpu_ns() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec;
}

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
    for (auto& p : prepared_) release(*p);
    for (auto& [key, buffer] : weights_) device_.release(buffer);
}

namespace {
using Clock = std::chrono::steady_clock;
int64_t ns_between(Clock::time_point a, Clock::time_point b) { return std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count(); }
// Shapes whose task buffers are kept: decoding's M = 1 and a few prompt lengths.
constexpr size_t kPreparedShapes = 4;
// Where each task's list starts in the commands buffer (Mesa: 64 bytes; the PC needs 16).
constexpr int64_t kTaskAlignment = 64;
}  // namespace

void NpuMatmul::release(Prepared& p) {
    for (auto* list : {&p.features, &p.outputs})
        for (const DeviceBuffer& b : *list) device_.release(b);
    if (p.commands.host) device_.release(p.commands);
    p.features.clear();
    p.outputs.clear();
    p.commands = {};
    p.tasks.clear();
}

NpuMatmul::Prepared& NpuMatmul::prepared_for(int64_t m) {
    for (size_t i = 0; i < prepared_.size(); ++i)
        if (prepared_[i]->m == m) {
            std::rotate(prepared_.begin(), prepared_.begin() + static_cast<std::ptrdiff_t>(i), prepared_.begin() + static_cast<std::ptrdiff_t>(i) + 1);
            return *prepared_.front();
        }
    if (prepared_.size() == kPreparedShapes) {
        release(*prepared_.back());
        prepared_.pop_back();
    }
    auto p = std::make_unique<Prepared>();
    p->m = m;
    p->plan = plan_matmul({m, k_, n_}, type_);
    try {
        std::vector<std::vector<uint64_t>> regcmds;
        for (const MatmulTile& t : p->plan.tiles) {
            const DeviceBuffer& feature = p->features.emplace_back(device_.allocate(feature_bytes(t.padded, type_)));
            const DeviceBuffer& output = p->outputs.emplace_back(device_.allocate(output_bytes(t.padded)));
            regcmds.push_back(build_matmul_task(t.padded, type_, {feature.iova, weights_.at({t.n0, t.k0}).iova, output.iova}));
        }
        // One buffer for every task's list, each at a 64-byte boundary.
        size_t bytes = 0;
        std::vector<size_t> offsets;
        for (const auto& regcmd : regcmds) {
            offsets.push_back(bytes);
            bytes += static_cast<size_t>(round_up(static_cast<int64_t>(regcmd.size() * 8), kTaskAlignment));
        }
        p->commands = device_.allocate(bytes);
        const TimingModel slowest = worst_case_timing();
        for (size_t i = 0; i < regcmds.size(); ++i) {
            std::memcpy(p->commands.host + offsets[i], regcmds[i].data(), regcmds[i].size() * 8);
            p->tasks.push_back({p->commands, offsets[i], static_cast<uint32_t>(regcmds[i].size()), p->outputs[i],
                                project_task(p->plan.tiles[i].padded, type_, slowest).seconds});
        }
        device_.cpu_write_done(p->commands);
    } catch (...) {
        release(*p);
        throw;
    }
    prepared_.insert(prepared_.begin(), std::move(p));
    return *prepared_.front();
}

int64_t NpuMatmul::planned_m(int64_t m) {
    // Powers of two up to 256 (M is padded to 4 anyway), then multiples of 256: at most half of
    // a small prompt's rows, and a few percent of a long one's, are padding.
    if (m <= 4) return m;
    if (m > 256) return (m + 255) / 256 * 256;
    int64_t p = 8;
    while (p < m) p *= 2;
    return p;
}

void NpuMatmul::run(const void* a, int64_t m, void* c) {
    const auto start = Clock::now();
    const int64_t cpu_start = thread_cpu_ns();
    const size_t bpe = input_bytes(type_);
    // The tasks for this M: built once and kept, so that repeated calls of one shape (a decode
    // step's M = 1) only pack A, run, and unpack C.
    Prepared& p = prepared_for(planned_m(m));
    // The rows of a tile that A has (tiles past A's last row are all zeros).
    const auto valid_rows = [m](const MatmulTile& t) { return std::clamp<int64_t>(m - t.m0, 0, t.shape.m); };
    for (size_t i = 0; i < p.plan.tiles.size(); ++i) {
        const MatmulTile& t = p.plan.tiles[i];
        const int64_t rows_here = valid_rows(t);
        const auto* rows = rows_here > 0 ? static_cast<const uint8_t*>(a) + static_cast<size_t>(t.m0 * k_ + t.k0) * bpe : nullptr;
        pack_feature(rows, k_, t.shape, type_, p.features[i].host, rows_here);
        device_.cpu_write_done(p.features[i]);
    }
    const MatmulPlan& plan = p.plan;
    const std::vector<DeviceBuffer>& outputs = p.outputs;
    // Tiles wholly past A's last row are not run.
    std::vector<TaskRef> tasks;
    for (size_t i = 0; i < plan.tiles.size(); ++i)
        if (valid_rows(plan.tiles[i]) > 0) tasks.push_back(p.tasks[i]);
    const auto packed = Clock::now();
    const int64_t cpu_packed = thread_cpu_ns();
    device_.run(tasks);
    const auto ran = Clock::now();
    const int64_t cpu_ran = thread_cpu_ns();

    // Unpack each tile into its place in C; a tile of a later K block is added to what is there.
    std::vector<uint8_t> partial;
    for (size_t i = 0; i < plan.tiles.size(); ++i) {
        const MatmulTile& t = plan.tiles[i];
        const int64_t rows_here = valid_rows(t);
        if (rows_here == 0) continue;
        uint8_t* at = static_cast<uint8_t*>(c) + static_cast<size_t>(t.m0 * n_ + t.n0) * 4;
        if (t.k0 == 0) {
            unpack_output(outputs[i].host, t.shape, type_, at, n_, rows_here);
            continue;
        }
        partial.resize(static_cast<size_t>(t.shape.m * t.shape.n) * 4);
        unpack_output(outputs[i].host, t.shape, type_, partial.data(), t.shape.n, rows_here);
        for (int64_t row = 0; row < rows_here; ++row)
            for (int64_t col = 0; col < t.shape.n; ++col) {
                const size_t to = static_cast<size_t>(row * n_ + col) * 4, from = static_cast<size_t>(row * t.shape.n + col) * 4;
                if (type_ == MatmulType::Int8) {
                    int32_t sum, v;
                    std::memcpy(&sum, at + to, 4);
                    std::memcpy(&v, partial.data() + from, 4);
                    sum += v;
                    std::memcpy(at + to, &sum, 4);
                } else {
                    float sum, v;
                    std::memcpy(&sum, at + to, 4);
                    std::memcpy(&v, partial.data() + from, 4);
                    sum += v;
                    std::memcpy(at + to, &sum, 4);
                }
            }
    }
    last_call_ = {ns_between(start, packed), ns_between(packed, ran), ns_between(ran, Clock::now()),
                  cpu_packed - cpu_start + thread_cpu_ns() - cpu_ran};
}

}  // namespace rockllm::npu
