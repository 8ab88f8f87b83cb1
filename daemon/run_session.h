// `rockllm run`, as `ollama run`: pulls a missing model, then answers a prompt from the arguments
// or from piped input, or opens the interactive session with Ollama's commands (/set, /show,
// /load, /save, /clear, /list, /bye, /?). Flags: --format, --think[=level], --hidethinking,
// --verbose (Ollama's timing summary), --keepalive, --nowordwrap, --insecure, and for embedding
// models --truncate and --dimensions (the vector is printed as JSON).
#pragma once

#include <string>
#include <vector>

namespace rockllm {

class ApiClient;

int run_command(ApiClient& api, const std::vector<std::string>& args);

}  // namespace rockllm
