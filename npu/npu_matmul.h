// A matmul on the NPU with resident weights: B is packed once, at load, into device buffers tile by
// tile; each call packs only A and unpacks C (the CPU's share of the work), and runs the tiles'
// tasks as one job. The task buffers and commands of the last few M are kept for the next calls:
// a request alternates between its prompt's M and decoding's M = 1.
// C[M×N] = A[M×K] · B[N×K]ᵀ: int8 × int8 → int32 exactly, fp16 × fp16 → fp32.
#pragma once

#include <map>
#include <memory>
#include <utility>

#include "npu/device.h"
#include "npu/matmul_plan.h"

namespace rockllm::npu {

// This thread's CPU time in ns: what the CPU's share of a call costs, not stretched by waiting.
int64_t thread_cpu_ns();

class NpuMatmul {
public:
    // b: N rows of K elements (int8_t, or fp16 bits as uint16_t).
    NpuMatmul(NpuDevice& device, MatmulType type, int64_t n, int64_t k, const void* b);
    ~NpuMatmul();
    NpuMatmul(const NpuMatmul&) = delete;
    NpuMatmul& operator=(const NpuMatmul&) = delete;

    // a: M rows of K elements; c: M rows of N results (int32_t for Int8, float for Fp16).
    void run(const void* a, int64_t m, void* c);

    // Where the last run's time went: the CPU's packing of A and unpacking of C, and the device.
    struct CallTimes {
        int64_t pack_ns = 0, device_ns = 0, unpack_ns = 0;  // wall time
        // CPU time of this thread packing and unpacking: unlike wall time, not stretched when the
        // thread waits for a CPU (on a small host simulating three cores, it often does).
        int64_t cpu_ns = 0;
    };
    const CallTimes& last_call() const { return last_call_; }

    // The M the tasks for an M of rows are built for: prompts of many lengths share a few task
    // sets, the rows beyond M computed as zeros.
    static int64_t planned_m(int64_t m);

    int64_t n() const { return n_; }
    int64_t k() const { return k_; }

private:
    // Buffers and commands of the tasks for one M, kept between calls.
    struct Prepared {
        int64_t m = 0;
        MatmulPlan plan;
        std::vector<DeviceBuffer> features, outputs;
        DeviceBuffer commands;  // every task's regcmd, each at a 64-byte boundary (as Mesa lays them)
        std::vector<TaskRef> tasks;
    };
    Prepared& prepared_for(int64_t m);
    void release(Prepared& p);

    NpuDevice& device_;
    MatmulType type_;
    int64_t n_, k_;
    std::map<std::pair<int64_t, int64_t>, DeviceBuffer> weights_;  // by (n0, k0) of the tile
    CallTimes last_call_;
    std::vector<std::unique_ptr<Prepared>> prepared_;  // most recently used first
};

}  // namespace rockllm::npu
