// A functional model of one RK3588 NPU core, fed exactly what the hardware is fed: a regcmd list
// in device memory, addressed by IOVA. It decodes the register writes into a register file, and
// at the op-enable entry runs the configured operation: the 1×1-convolution matmul that
// matmul_task.cpp programs, computed with the hardware's arithmetic (int8 products accumulated
// exactly in int32; fp16 products accumulated in fp32), reading and writing the buffers in their
// hardware layouts. A configuration it does not model is refused, naming the register. Counters
// and a simple timing model project what the task would cost on an RK3588.
#pragma once

#include <cstdint>
#include <functional>
#include <map>

#include "npu/regcmd.h"

namespace rockllm::npu {

// The device memory the simulated core sees: resolves an IOVA range to host memory, or throws
// NpuError when the range is not inside one mapped buffer (an IOMMU fault).
using DeviceMemory = std::function<uint8_t*(uint64_t iova, size_t bytes)>;

// Parameters of the time projection, from rk3588-npu.md §1.
struct TimingModel {
    double clock_hz = 1.0e9;            // BSP kernels' top NPU clock (mainline boots at 200 MHz)
    double int8_macs_per_cycle = 1024;  // per core
    double fp16_macs_per_cycle = 512;
    double dram_bytes_per_s = 10.0e9;   // of the ~34 GB/s theoretical LPDDR4X, what CPUs measure
    double task_overhead_s = 30e-6;     // a kick, an interrupt and the next task's register fetch
};

struct SimulatorCounters {
    uint64_t tasks = 0;
    uint64_t macs = 0;
    uint64_t bytes_read = 0;
    uint64_t bytes_written = 0;
    double projected_seconds = 0;
};

class Simulator {
public:
    explicit Simulator(DeviceMemory memory, TimingModel timing = {});

    // Runs one task: its regcmd_count entries at regcmd_iova, ending in the op-enable tail.
    void run_task(uint64_t regcmd_iova, uint32_t regcmd_count);
    const SimulatorCounters& counters() const { return counters_; }

private:
    uint32_t reg(Register r) const;
    uint32_t field(Register r, Field f) const { return f.get(reg(r)); }
    void execute(uint32_t enable_mask);

    DeviceMemory memory_;
    TimingModel timing_;
    std::map<uint16_t, uint32_t> registers_;  // by offset; the page names the block
    SimulatorCounters counters_;
};

}  // namespace rockllm::npu
