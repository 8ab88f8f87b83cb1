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
#include <set>
#include <vector>

#include "npu/matmul_layout.h"
#include "npu/regcmd.h"

namespace rockllm::npu {

// The device memory the simulated core sees: resolves an IOVA range to host memory, or throws
// NpuError when the range is not inside one mapped buffer (an IOMMU fault).
using DeviceMemory = std::function<uint8_t*(uint64_t iova, size_t bytes)>;

// Parameters of the time projection (docs/npu.md, "Projection"): rk3588-npu.md §1 and
// perf-anchors.md §3.4/§5. A task takes the longer of its MACs at the achievable MAC rate and its
// bytes at one core's share of the DRAM bandwidth, plus a fixed cost; a job (one submit) adds the
// submit, the interrupt and the wake-up of the waiting thread.
struct TimingModel {
    double clock_hz = 1.0e9;            // BSP kernels' top NPU clock (mainline boots at 200 MHz)
    double int8_macs_per_cycle = 1024;  // per core (TRM)
    double fp16_macs_per_cycle = 512;
    double mac_efficiency = 0.30;       // the best int8 GEMM measured on 3 cores: 1.83 of 6.1 TOPS
    double dram_bytes_per_s = 31.0e9 / 3;  // per core: the ~31 GB/s the 3 cores stream together
    double task_overhead_s = 5e-6;      // a task's register fetch and pipeline fill within a job
    double job_overhead_s = 25e-6;      // submit ioctl, kick, interrupt, waking the waiting thread
};

// The timing model at the clock mainline boots the NPU with (200 MHz): work sized by it stays
// inside a driver's time limit at any clock the board may run.
TimingModel worst_case_timing();

struct TaskCost {
    double seconds = 0;
    uint64_t macs = 0, bytes_read = 0, bytes_written = 0;
};
// What one task over a padded shape costs under the timing model (the simulator's own projection).
TaskCost project_task(MatmulShape padded, MatmulType type, const TimingModel& timing);

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

    // Runs one task as Rocket kicks it: the kernel points the PC at the list and has it fetch
    // regcmd_count entries (rounded up to 128-bit words); TASK_NUMBER 1. Returns the task's
    // projected time.
    double run_task(uint64_t regcmd_iova, uint32_t regcmd_count);
    // Runs task_number tasks as rknpu's PC mode does: the PC fetches the first list, and each
    // later one from the PC_BASE_ADDRESS and PC_REGISTER_AMOUNTS that the previous task's tail
    // wrote. A tail that ends the chain early is an NpuError (the PC stops; the job would time out).
    struct ChainResult {
        uint32_t interrupt_status = 0;  // of the last task, as the driver folds it
        double seconds = 0;             // projected
    };
    ChainResult run_chain(uint64_t first_iova, uint32_t first_pc_data_amount, uint32_t task_number);
    const SimulatorCounters& counters() const { return counters_; }

private:
    // One task's operation, as its registers describe it.
    struct Task {
        MatmulShape shape;
        MatmulType type;
        uint64_t feature_iova, weights_iova, output_iova;
        uint32_t surface_stride;  // bytes between the output's surfaces of 4 channels
    };
    struct Operands {
        std::vector<uint8_t> rows;     // A, M rows of K elements
        std::vector<uint8_t> kernels;  // B, N rows of K elements
    };

    // A register the task being run wrote; one it did not write is an NpuError: the core would
    // compute with what an earlier task (or another process) left there.
    uint32_t reg(Register r) const;
    uint32_t field(Register r, Field f) const { return f.get(reg(r)); }
    // Fetches one list (fetched entries, tail included) and runs it: the register writes, then
    // the operation at its op-enable entry. Returns the task's projected time.
    double fetch_and_run(uint64_t iova, uint32_t fetched);
    // Runs the task the registers describe: validate refuses what the simulator does not model.
    double execute(uint32_t enable_mask);
    Task validate(uint32_t enable_mask) const;
    Operands unpack(const Task& task) const;
    void compute(const Task& task, const Operands& operands);
    double account(const Task& task);

    DeviceMemory memory_;
    TimingModel timing_;
    // The core's register file: kept across tasks and jobs, as the hardware keeps it.
    std::map<uint16_t, uint32_t> registers_;  // by offset; the page names the block
    std::set<uint16_t> written_;              // the offsets the running task wrote
    SimulatorCounters counters_;
};

}  // namespace rockllm::npu
