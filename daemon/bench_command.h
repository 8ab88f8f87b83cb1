// rockllm bench: prompt-processing and generation speed of a model, like llama-bench.
// rockllm synth: writes a synthetic model of a named real model's shape.
#pragma once

#include <string>
#include <vector>

namespace rockllm {

int run_bench_command(const std::vector<std::string>& args);
int run_synth_command(const std::vector<std::string>& args);

}  // namespace rockllm
