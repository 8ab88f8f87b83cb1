// rockllm serve: the Ollama-compatible HTTP server.
#pragma once

#include <string>
#include <vector>

namespace rockllm {

int run_serve_command(const std::vector<std::string>& args);

}  // namespace rockllm
