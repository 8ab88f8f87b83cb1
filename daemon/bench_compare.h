// rockllm bench --compare PEER: rockllm and another engine's llama-bench (llama.cpp, ik_llama.cpp)
// on the same GGUF file, in rounds that alternate between the two, so that both sides meet the
// same load on a shared machine; prints each side's median and the ratio per test. Nothing is
// downloaded: the person gives the peer's llama-bench path.
#pragma once

#include <string>
#include <vector>

#include "llm/model.h"

namespace rockllm {

struct CompareOptions {
    std::string peer;  // the llama-bench executable
    std::string model_path;
    std::vector<int> prompt_tokens, gen_tokens;
    int threads = 2;
    int rounds = 3;
};

// Throws std::runtime_error when the peer cannot run or its output cannot be read.
int run_bench_compare(const Model& model, const CompareOptions& options);

}  // namespace rockllm
