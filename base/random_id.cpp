#include "base/random_id.h"

#include <chrono>
#include <random>

namespace rockllm {

std::string random_id(std::string_view prefix, std::string_view alphabet, int length) {
    static thread_local std::mt19937_64 rng(std::random_device{}());
    std::string id(prefix);
    for (int i = 0; i < length; ++i) id += alphabet[rng() % alphabet.size()];
    return id;
}

int64_t unix_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace rockllm
