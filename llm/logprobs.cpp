#include "llm/logprobs.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace rockllm {

SampledLogprobs logprobs_of(std::span<const float> logits, int32_t token, int top) {
    // log_softmax(x)_i = x_i - (max + log sum exp(x - max)), in double for the sum.
    const float max = *std::max_element(logits.begin(), logits.end());
    double sum = 0;
    for (float x : logits) sum += std::exp(static_cast<double>(x) - max);
    const double log_normalizer = max + std::log(sum);
    SampledLogprobs out;
    out.sampled = {token, static_cast<double>(logits[static_cast<size_t>(token)]) - log_normalizer};
    const size_t k = std::min<size_t>(static_cast<size_t>(std::max(top, 0)), logits.size());
    if (k == 0) return out;
    std::vector<int32_t> ids(logits.size());
    std::iota(ids.begin(), ids.end(), 0);
    std::partial_sort(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(k), ids.end(), [&](int32_t a, int32_t b) {
        return logits[static_cast<size_t>(a)] != logits[static_cast<size_t>(b)] ? logits[static_cast<size_t>(a)] > logits[static_cast<size_t>(b)] : a < b;
    });
    for (size_t i = 0; i < k; ++i) out.top.push_back({ids[i], static_cast<double>(logits[static_cast<size_t>(ids[i])]) - log_normalizer});
    return out;
}

}  // namespace rockllm
