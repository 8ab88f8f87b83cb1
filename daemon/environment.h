// The OLLAMA_* environment variables the daemon honours, parsed as Ollama parses them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "api/scheduler.h"

namespace rockllm {

struct ListenAddress {
    std::string host = "127.0.0.1";
    int port = 11434;
};

// OLLAMA_HOST forms: "host", "host:port", ":port", "http(s)://host[:port]", "[v6]:port".
// Throws std::invalid_argument for anything else.
ListenAddress parse_ollama_host(const std::string& value);

// OLLAMA_MODELS, else $HOME/.ollama/models.
std::string models_directory();
// OLLAMA_CONTEXT_LENGTH, else 4096 (Ollama's default on machines with < 24 GiB of VRAM, i.e. ours).
int64_t default_context_length();
// OLLAMA_DEBUG: "1", "true" or a level above 0.
bool debug_enabled();
// Whether unreferenced blobs are pruned at start: unless OLLAMA_NOPRUNE is set (as Ollama).
bool prune_enabled();
// OLLAMA_ORIGINS: extra allowed browser origins, comma separated.
std::vector<std::string> extra_origins();
// OLLAMA_CONTEXT_LENGTH, OLLAMA_NUM_PARALLEL, OLLAMA_MAX_LOADED_MODELS (0: 3), OLLAMA_MAX_QUEUE,
// OLLAMA_KEEP_ALIVE, and ROCKLLM_MAX_MEMORY (what all loaded models may take together, e.g. "6G").
// Throws std::invalid_argument naming a malformed variable.
SchedulerOptions scheduler_options();

}  // namespace rockllm
