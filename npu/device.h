// What the matmul library needs of an NPU: buffers it can fill from the CPU and address from the
// NPU, and a way to run tasks and wait for them. The Rocket and rknpu drivers implement it over
// their ioctls; SimulatedDevice implements it in process over the register-level simulator.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "npu/simulator.h"

namespace rockllm::npu {

struct DeviceBuffer {
    uint32_t handle = 0;
    uint64_t iova = 0;
    uint8_t* host = nullptr;
    size_t size = 0;
};

// One task of a job: its regcmd (`count` entries, tail included, at `offset` bytes into
// `commands`, 16-byte aligned) and the buffer it writes. A driver that chains tasks in hardware
// (rknpu) rewrites the tails in place; one that kicks tasks one by one (Rocket) ends every tail.
struct TaskRef {
    DeviceBuffer commands;
    size_t offset = 0;
    uint32_t count = 0;
    DeviceBuffer output;
    // The task's projected time at the slowest clock the NPU runs at (worst_case_timing()): what
    // a driver's job time limit is checked against.
    double worst_case_seconds = 0;

    uint64_t iova() const { return commands.iova + offset; }
    uint64_t* entries() const { return reinterpret_cast<uint64_t*>(commands.host + offset); }
};

// Consecutive runs of tasks, [first, last), each within a driver's job limits: at most max_tasks
// tasks and max_seconds of worst-case time (a task over the time alone is a job of its own).
std::vector<std::pair<size_t, size_t>> split_into_jobs(const std::vector<TaskRef>& tasks, size_t max_tasks, double max_seconds);

// Writes the tails of tasks [first, last) so that each leads the PC to the next and the last ends
// the chain (chained = false: every tail ends, as Rocket needs). Returns the command buffers
// whose contents changed (they need cpu_write_done); a chain as the last call left it changes none.
std::vector<DeviceBuffer> write_tails(const std::vector<TaskRef>& tasks, size_t first, size_t last, bool chained);

class NpuDevice {
public:
    virtual ~NpuDevice() = default;
    virtual DeviceBuffer allocate(size_t bytes) = 0;
    virtual void release(const DeviceBuffer& buffer) = 0;
    // The CPU finished writing the buffer: caches are cleaned for the NPU (Rocket FINI_BO,
    // rknpu MEM_SYNC to device).
    virtual void cpu_write_done(const DeviceBuffer& buffer) = 0;
    // Runs the tasks in order on one core and waits for them; their outputs' CPU view is valid
    // afterwards. The driver submits them as one job or several, within its limits (task count,
    // job time). Throws NpuError on a failed or timed-out job.
    virtual void run(const std::vector<TaskRef>& tasks) = 0;
    // Places the following jobs on one core (0..2) when the driver allows it (rknpu's core mask);
    // false when the kernel chooses (Rocket: per fd, one job at a time).
    virtual bool select_core(int) { return false; }
    // Makes a dma-buf the CPU has mapped at `host` addressable by the NPU (PRIME import); nullopt
    // when the driver cannot import foreign buffers (Rocket). release() gives up the import only.
    virtual std::optional<DeviceBuffer> import_dmabuf(int /*fd*/, size_t /*bytes*/, uint8_t* /*host*/) { return std::nullopt; }
};

// The simulator behind the device interface, in process: page-aligned buffers at IOVAs from 0x1000
// up in a 32-bit window, tasks executed at once.
class SimulatedDevice : public NpuDevice {
public:
    explicit SimulatedDevice(TimingModel timing = {});
    DeviceBuffer allocate(size_t bytes) override;
    void release(const DeviceBuffer& buffer) override;
    void cpu_write_done(const DeviceBuffer&) override {}
    void run(const std::vector<TaskRef>& tasks) override;
    const SimulatorCounters& counters() const { return simulator_.counters(); }
    bool owns(const DeviceBuffer& buffer) const;

private:
    uint8_t* resolve(uint64_t iova, size_t bytes);

    struct Allocation {
        uint32_t handle;
        std::vector<uint8_t> bytes;
    };
    std::map<uint64_t, Allocation> buffers_;  // by IOVA
    uint64_t next_iova_ = 0x1000;
    uint32_t next_handle_ = 1;
    Simulator simulator_;
};

}  // namespace rockllm::npu
