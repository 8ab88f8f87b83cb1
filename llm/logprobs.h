// Log probabilities of a sampled token and of the likeliest alternatives, from the model's raw
// logits (before temperature and the other sampling options), as llama.cpp's server and Ollama
// report them.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace rockllm {

struct TokenLogprob {
    int32_t token = -1;
    double logprob = 0;
};

struct SampledLogprobs {
    TokenLogprob sampled;
    std::vector<TokenLogprob> top;  // the `top` likeliest tokens, likeliest first
};

// log_softmax(logits)[token] and the `top` (0 or more) largest entries.
SampledLogprobs logprobs_of(std::span<const float> logits, int32_t token, int top);

}  // namespace rockllm
