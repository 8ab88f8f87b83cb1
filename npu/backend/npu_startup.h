// Choosing the backend and bringing the NPU up for the engine: `--backend auto|npu|cpu` (or
// ROCKLLM_BACKEND), ROCKLLM_NPU_DTYPE=int8|fp16. The NPU is used only when a node is found, its
// three cores open, and each passes a quick self-test against the CPU; otherwise the reason is
// returned for the caller to log, and the engine runs on the CPU.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "npu/backend/npu_cores.h"

namespace rockllm::npu {

enum class BackendChoice { Auto, Npu, Cpu };

// The flag's value when given, else ROCKLLM_BACKEND, else auto; std::invalid_argument for others.
BackendChoice backend_choice(const std::optional<std::string>& flag);
// ROCKLLM_NPU_DTYPE: int8 (W8A8, the default) or fp16; std::invalid_argument for others.
MatmulType npu_type_from_environment();
const char* matmul_type_name(MatmulType type);

struct NpuStartup {
    std::unique_ptr<NpuCores> cores;  // null: run on the CPU
    std::string reason;               // why not, for the log ("" with cores, or with --backend cpu)
};
NpuStartup start_npu(BackendChoice choice);

}  // namespace rockllm::npu
