// Elapsed time in nanoseconds, as Ollama reports durations.
#pragma once

#include <chrono>
#include <cstdint>

namespace rockllm {

inline int64_t ns_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace rockllm
