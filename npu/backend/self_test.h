// Checking an NPU against the CPU: random matmuls of a shape through a device, compared with a
// reference computed here. `rockllm npu selftest` runs many shapes; the engine runs a few on each
// core at start-up before it trusts the NPU.
#pragma once

#include <cstdint>
#include <string>

#include "npu/backend/npu_cores.h"
#include "npu/npu_matmul.h"

namespace rockllm::npu {

struct ShapeResult {
    double worst = 0;
    bool pass = false;
    NpuMatmul::CallTimes times;
};

// One shape: random inputs, the NPU's result against a CPU reference; the worst error (absolute
// for int8, which must be exact; relative to the magnitude of the products for fp16, within
// K·2⁻²⁴), whether it passes, and where the call's time went.
ShapeResult check_shape(NpuDevice& device, MatmulType type, int64_t m, int64_t k, int64_t n, uint32_t seed);

// A few shapes of both types on every core (M = 1 and a K split among them); an empty string when
// all pass, else what failed.
std::string quick_self_test(NpuCores& cores);

}  // namespace rockllm::npu
