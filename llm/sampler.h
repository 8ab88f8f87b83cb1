// Picks the next token from the logits: argmax at temperature 0, otherwise a seeded draw
// from softmax(logits / temperature).
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace rockllm {

class Sampler {
public:
    Sampler(float temperature, uint64_t seed);
    int32_t sample(std::span<const float> logits);

private:
    float temperature_;
    std::mt19937_64 rng_;
    std::vector<float> probabilities_;
};

int32_t argmax(std::span<const float> logits);

}  // namespace rockllm
