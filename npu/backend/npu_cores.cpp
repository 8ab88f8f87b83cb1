#include "npu/backend/npu_cores.h"

#include <algorithm>
#include <chrono>

namespace rockllm::npu {

namespace {

constexpr int kRk3588Cores = 3;

int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

NpuCores::NpuCores(std::vector<std::unique_ptr<NpuDevice>> devices, std::string description) : description_(std::move(description)) {
    if (devices.empty()) throw NpuError("no NPU cores to run on");
    for (auto& d : devices) {
        auto core = std::make_unique<Core>();
        core->device = std::move(d);
        cores_.push_back(std::move(core));
    }
    for (auto& core : cores_) core->worker = std::thread([this, c = core.get()] { worker_loop(*c); });
}

NpuCores::~NpuCores() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    work_ready_.notify_all();
    for (auto& core : cores_) core->worker.join();
}

std::unique_ptr<NpuCores> NpuCores::open(const DeviceNode& node) {
    std::vector<std::unique_ptr<NpuDevice>> devices;
    for (int i = 0; i < kRk3588Cores; ++i) {
        devices.push_back(open_npu_device(node));
        // rknpu: this fd's jobs go to core i. Rocket: the kernel puts each fd's jobs on a free
        // core, so three fds submitting at once use the three cores.
        devices.back()->select_core(i);
    }
    const std::string driver = node.driver == DriverKind::Rocket ? "rocket" : "rknpu";
    return std::make_unique<NpuCores>(std::move(devices), driver + " " + node.version + " at " + node.path + ", 3 cores");
}

void NpuCores::worker_loop(Core& core) {
    while (true) {
        Item item;
        {
            std::unique_lock lock(mutex_);
            work_ready_.wait(lock, [&] { return stopping_ || !core.queue.empty(); });
            if (core.queue.empty()) return;  // stopping, and nothing left to do
            item = std::move(core.queue.front());
            core.queue.pop_front();
            core.stats.queue_depth = static_cast<int>(core.queue.size());
        }
        const int64_t start = now_ns();
        try {
            *item.result = item.work(*core.device);
        } catch (...) {
            *item.error = std::current_exception();
        }
        const int64_t busy = now_ns() - start;
        {
            std::lock_guard lock(mutex_);
            core.stats.jobs += 1;
            core.stats.busy_ns += busy;
            core.stats.device_ns += item.result->device_ns;
            core.stats.projected_ns += item.result->projected_ns;
            core.stats.bytes += item.result->bytes;
        }
        // Notified under the lock: once the caller sees its last item done it returns and its
        // condition variable is gone, so nothing of it may be touched after the unlock.
        std::lock_guard lock(*item.done_mutex);
        --*item.remaining;
        item.done->notify_all();
    }
}

std::vector<CoreWorkResult> NpuCores::run(std::span<const CoreWork> work) {
    if (static_cast<int>(work.size()) > count()) throw NpuError("more shards than NPU cores");
    std::vector<CoreWorkResult> results(work.size());
    std::vector<std::exception_ptr> errors(work.size());
    std::mutex done_mutex;
    std::condition_variable done;
    // Set before any item is queued; from then on read and decremented under done_mutex only.
    int remaining = static_cast<int>(std::count_if(work.begin(), work.end(), [](const CoreWork& w) { return bool(w); }));
    {
        std::lock_guard lock(mutex_);
        for (size_t i = 0; i < work.size(); ++i) {
            if (!work[i]) continue;
            Core& core = *cores_[i];
            core.queue.push_back({work[i], &results[i], &errors[i], &done_mutex, &done, &remaining});
            core.stats.queue_depth = static_cast<int>(core.queue.size());
            core.stats.max_queue_depth = std::max(core.stats.max_queue_depth, core.stats.queue_depth);
        }
    }
    work_ready_.notify_all();
    {
        std::unique_lock lock(done_mutex);
        done.wait(lock, [&] { return remaining == 0; });
    }
    for (const auto& e : errors)
        if (e) std::rethrow_exception(e);
    return results;
}

void NpuCores::run_on(int core, const std::function<void(NpuDevice&)>& fn) {
    std::vector<CoreWork> work(static_cast<size_t>(core + 1));
    work[static_cast<size_t>(core)] = [&fn](NpuDevice& d) {
        fn(d);
        return CoreWorkResult{};
    };
    run(work);
}

std::vector<CoreStats> NpuCores::stats() const {
    std::lock_guard lock(mutex_);
    std::vector<CoreStats> out;
    for (const auto& core : cores_) out.push_back(core->stats);
    return out;
}

}  // namespace rockllm::npu
