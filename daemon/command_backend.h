// The backend for the commands that run one model file (generate, bench): chosen with --backend (or
// ROCKLLM_BACKEND), brought up and checked, and the model's matrices placed on it. An explicit
// `--backend npu` that cannot be had is an error; with auto, a machine without an NPU runs on the
// CPU quietly, and one whose NPU fails its self-test says so on stderr.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "npu/backend/npu_model.h"
#include "npu/backend/npu_startup.h"

namespace rockllm {

struct CommandBackend {
    npu::NpuStartup startup;               // startup.cores outlives model
    std::unique_ptr<npu::NpuModel> model;  // null: the CPU
};

// Throws UsageError for a bad --backend, std::runtime_error when --backend npu cannot be had.
CommandBackend backend_for_command(const Model& model, const std::optional<std::string>& backend_flag);

}  // namespace rockllm
