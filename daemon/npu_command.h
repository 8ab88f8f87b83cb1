// rockllm npu info|selftest: what NPU the machine has, and whether it computes correctly.
#pragma once

#include <string>
#include <vector>

namespace rockllm {

int run_npu_command(const std::vector<std::string>& args);

// With ROCKLLM_NPU_SIMULATE=rocket|rknpu, re-executes the process with the simulated device
// library preloaded (unless it already is), so that every command meets the simulated NPU through
// the real driver path. Returns only when nothing is to be done.
void preload_simulated_npu(char** argv);

}  // namespace rockllm
