#include "sampler.h"

#include <cmath>
#include <stdexcept>

namespace rockllm {

int32_t argmax(std::span<const float> logits) {
    if (logits.empty()) throw std::invalid_argument("argmax of no logits");
    size_t best = 0;
    for (size_t i = 1; i < logits.size(); ++i)
        if (logits[i] > logits[best]) best = i;  // first index wins a tie
    return static_cast<int32_t>(best);
}

Sampler::Sampler(float temperature, uint64_t seed) : temperature_(temperature), rng_(seed) {
    if (!(temperature >= 0.0f) || !std::isfinite(temperature))
        throw std::invalid_argument("temperature must be a finite number >= 0");
}

int32_t Sampler::sample(std::span<const float> logits) {
    if (temperature_ == 0.0f) return argmax(logits);
    const float max_logit = logits[argmax(logits)];
    probabilities_.resize(logits.size());
    double sum = 0.0;
    for (size_t i = 0; i < logits.size(); ++i) {
        probabilities_[i] = std::exp((logits[i] - max_logit) / temperature_);
        sum += probabilities_[i];
    }
    // Inverse-CDF draw: deterministic for a given seed on every platform (unlike std::discrete_distribution).
    const double target = std::uniform_real_distribution<double>(0.0, sum)(rng_);
    double cumulative = 0.0;
    for (size_t i = 0; i < probabilities_.size(); ++i) {
        cumulative += probabilities_[i];
        if (target < cumulative) return static_cast<int32_t>(i);
    }
    return static_cast<int32_t>(probabilities_.size() - 1);
}

}  // namespace rockllm
