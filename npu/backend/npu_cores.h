// The three NPU cores and the policy that keeps them busy. Each core is one device (one fd: Rocket
// gives every fd its own address space and runs its jobs on one core at a time; with rknpu the fd is
// pinned to its core by the core mask) served by a worker thread with a FIFO queue. A matmul is
// split by output columns into one shard per core (the shard's weights live on that core's device
// only), so one call puts one item on every queue and waits for the three. Several requests at once
// (parallel slots) fill the queues further, and a core that finishes its shard goes straight to
// the next request's. Counters say how busy each core was and how deep its queue got.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "npu/device.h"
#include "npu/drm_device.h"

namespace rockllm::npu {

struct CoreStats {
    int64_t jobs = 0;          // items run
    int64_t busy_ns = 0;       // time spent running them (packing, the device, unpacking)
    int64_t device_ns = 0;     // of which waiting for the device
    int64_t projected_ns = 0;  // what the timing model says the RK3588 core would take for them
    int64_t bytes = 0;         // NPU memory traffic of their tasks (timing model)
    int queue_depth = 0;       // items waiting now
    int max_queue_depth = 0;
};

// What a core runs for one shard; it reports the device time and the projection.
struct CoreWorkResult {
    int64_t device_ns = 0, projected_ns = 0, bytes = 0;
    int64_t cpu_ns = 0;  // the CPU's part: packing, unpacking, dequantizing
};
using CoreWork = std::function<CoreWorkResult(NpuDevice&)>;

class NpuCores {
public:
    // devices[i] is core i (one per core, already pinned to it where the driver allows).
    NpuCores(std::vector<std::unique_ptr<NpuDevice>> devices, std::string description);
    ~NpuCores();
    NpuCores(const NpuCores&) = delete;
    NpuCores& operator=(const NpuCores&) = delete;

    // The node's three cores: three fds (Rocket), or three fds pinned by core mask (rknpu).
    static std::unique_ptr<NpuCores> open(const DeviceNode& node);

    int count() const { return static_cast<int>(cores_.size()); }
    NpuDevice& device(int core) { return *cores_.at(static_cast<size_t>(core))->device; }
    const std::string& description() const { return description_; }  // "rocket 1.0.0 at /dev/accel/accel0, 3 cores"

    // Runs work[i] on core i (an empty function skips a core), waits for all of them, and rethrows
    // the first error; else returns what each reported.
    std::vector<CoreWorkResult> run(std::span<const CoreWork> work);
    // Runs fn on the core's worker and waits: for loading weights onto a core, which its
    // worker alone touches.
    void run_on(int core, const std::function<void(NpuDevice&)>& fn);

    std::vector<CoreStats> stats() const;

private:
    struct Item {
        CoreWork work;
        CoreWorkResult* result;
        std::exception_ptr* error;
        // Completion: the caller waits for its items.
        std::mutex* done_mutex;
        std::condition_variable* done;
        int* remaining;
    };
    struct Core {
        std::unique_ptr<NpuDevice> device;
        std::thread worker;
        std::deque<Item> queue;
        CoreStats stats;
    };
    void worker_loop(Core& core);

    std::vector<std::unique_ptr<Core>> cores_;
    std::string description_;
    mutable std::mutex mutex_;  // queues and stats
    std::condition_variable work_ready_;
    bool stopping_ = false;
};

}  // namespace rockllm::npu
