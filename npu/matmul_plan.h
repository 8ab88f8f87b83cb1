// Splitting a matmul into NPU tasks that each fit one task's limits: K in blocks of at most 8192
// (as Rockchip's SDK splits B on RK3588, and within one CBUF bank per kernel row), M in row blocks
// whose feature data fits 11 CBUF banks (one is left for weights), N in blocks of at most 4096
// kernels. Partial results over K blocks are summed on the CPU (int32 exactly, or fp32).
#pragma once

#include <vector>

#include "npu/matmul_layout.h"

namespace rockllm::npu {

struct MatmulTile {
    int64_t m0 = 0, k0 = 0, n0 = 0;  // where the tile starts in the unpadded problem
    MatmulShape shape;               // the tile's part of the unpadded problem
    MatmulShape padded;              // what the task computes
};

struct MatmulPlan {
    MatmulShape shape;
    MatmulType type;
    int64_t block_m = 0, block_k = 0, block_n = 0;
    std::vector<MatmulTile> tiles;  // M-major, then N, then K (the K blocks of one output tile in a row)
};

// Throws NpuError for non-positive sizes.
MatmulPlan plan_matmul(MatmulShape shape, MatmulType type);

}  // namespace rockllm::npu
