// One matmul task's register commands: C = A·Bᵀ as a 1×1 convolution through CNA → CORE → DPU,
// DPU writing 32-bit results to memory with every post-processing stage bypassed (the recipe of
// rk3588-npu.md §5.3, with the DPU_RDMA block disabled as Rocket needs it).
#pragma once

#include <cstdint>
#include <vector>

#include "npu/matmul_layout.h"

namespace rockllm::npu {

struct MatmulAddresses {
    uint64_t feature = 0, weights = 0, output = 0;  // NPU (IOVA) addresses of the three buffers
};

constexpr uint64_t kIovaLimit = uint64_t{1} << 32;  // every NPU address register is 32 bits

// The CBUF banks a task's feature data needs; the rest hold weights.
int data_banks_for(MatmulShape padded, MatmulType type);
// Whether one task can hold this padded shape (register field widths, CBUF banks).
bool fits_one_task(MatmulShape padded, MatmulType type);

// The regcmd (tail included) of one task over a padded shape. Throws NpuError for a shape that is
// not padded or does not fit a task, and for addresses outside the 32-bit window or misaligned.
std::vector<uint64_t> build_matmul_task(MatmulShape padded, MatmulType type, const MatmulAddresses& addresses);

}  // namespace rockllm::npu
