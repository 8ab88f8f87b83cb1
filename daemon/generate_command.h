// rockllm generate: continue a prompt with a GGUF model, printing only the continuation as it comes.
#pragma once

#include <string>
#include <vector>

namespace rockllm {

int run_generate_command(const std::vector<std::string>& args);

}  // namespace rockllm
