#include "daemon/bench_measure.h"

#include <algorithm>
#include <vector>

namespace rockllm {

namespace {

int32_t random_token(const Transformer& t, std::mt19937& rng) {
    return std::uniform_int_distribution<int32_t>(3, static_cast<int32_t>(t.config().n_vocab - 1))(rng);
}

double per_second(int tokens, std::chrono::steady_clock::time_point start) {
    return tokens / std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

double measure_prompt(Transformer& transformer, int p, std::mt19937& rng) {
    std::vector<int32_t> prompt(static_cast<size_t>(p));
    for (auto& t : prompt) t = random_token(transformer, rng);
    const auto start = std::chrono::steady_clock::now();
    transformer.forward(prompt, 0);
    return per_second(p, start);
}

double measure_generation(Transformer& transformer, int g, std::mt19937& rng) {
    int32_t next = random_token(transformer, rng);
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < g; ++i) {
        const auto logits = transformer.forward(std::span(&next, 1), i);
        next = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    }
    return per_second(g, start);
}

double measure_embedding(BertEncoder& encoder, int p, std::mt19937& rng) {
    std::vector<int32_t> text(static_cast<size_t>(p));
    std::uniform_int_distribution<int32_t> token(0, static_cast<int32_t>(encoder.config().n_vocab - 1));
    for (auto& t : text) t = token(rng);
    const auto start = std::chrono::steady_clock::now();
    encoder.embed(text);
    return per_second(p, start);
}

}  // namespace rockllm
