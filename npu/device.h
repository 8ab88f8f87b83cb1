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

struct TaskRef {
    uint64_t regcmd_iova = 0;
    uint32_t regcmd_count = 0;
};

class NpuDevice {
public:
    virtual ~NpuDevice() = default;
    virtual DeviceBuffer allocate(size_t bytes) = 0;
    virtual void release(const DeviceBuffer& buffer) = 0;
    // The CPU finished writing the buffer: caches are cleaned for the NPU (Rocket FINI_BO,
    // rknpu MEM_SYNC to device).
    virtual void cpu_write_done(const DeviceBuffer& buffer) = 0;
    // Runs the tasks in order on one core and waits for them; outputs are the buffers they write
    // (their CPU view is valid afterwards). Throws NpuError on a failed or timed-out job.
    virtual void run(const std::vector<TaskRef>& tasks, const std::vector<DeviceBuffer>& outputs) = 0;
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
    void run(const std::vector<TaskRef>& tasks, const std::vector<DeviceBuffer>& outputs) override;
    const SimulatorCounters& counters() const { return simulator_.counters(); }

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
