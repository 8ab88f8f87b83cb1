// Picks the next token from the logits with Ollama's options and defaults: repetition penalties over
// the recent tokens, then (unless temperature is 0, which is greedy) top_k, typical_p, top_p and
// min_p filters, temperature, and a seeded draw. The same seed and options give the same tokens.
#pragma once

#include <cstdint>
#include <deque>
#include <random>
#include <span>
#include <vector>

namespace rockllm {

struct SamplerOptions {
    float temperature = 0.8f;
    int32_t top_k = 40;          // <= 0: no limit
    float top_p = 0.9f;          // 1: off
    float min_p = 0.0f;          // 0: off
    float typical_p = 1.0f;      // 1: off
    int32_t repeat_last_n = 64;  // 0: off; -1: the whole context
    float repeat_penalty = 1.0f;
    float presence_penalty = 0.0f;
    float frequency_penalty = 0.0f;
    uint64_t seed = 0;

    // Throws std::invalid_argument naming the first option out of its range.
    void validate() const;
};

class TokenFilter;

class Sampler {
public:
    // n_ctx bounds the history that repeat_last_n = -1 refers to; options are validated.
    explicit Sampler(const SamplerOptions& options, int64_t n_ctx = 4096);
    Sampler(float temperature, uint64_t seed);  // greedy or plain temperature sampling

    // With a constraint, the token drawn is the one the constraint allows: the draw from all
    // logits when the constraint allows it, else a draw from the allowed tokens only (which gives
    // each allowed token its share of the allowed probability, as masking first would).
    int32_t sample(std::span<const float> logits);
    // Constrained sampling (structured outputs); the constraint must outlive the sampling.
    void set_constraint(TokenFilter* constraint) { constraint_ = constraint; }
    TokenFilter* constraint() const { return constraint_; }
    // Tokens that count for the repetition penalties (the prompt too); sample() adds its own picks.
    void accept(int32_t token);

private:
    struct Candidate {
        int32_t id;
        float logit;
        float p;
    };
    void apply_penalties(std::vector<Candidate>& candidates) const;
    int32_t draw(std::span<const float> logits);

    SamplerOptions options_;
    size_t history_limit_;
    std::deque<int32_t> history_;
    std::mt19937_64 rng_;
    std::vector<Candidate> candidates_;
    TokenFilter* constraint_ = nullptr;
    std::vector<float> masked_;
};

int32_t argmax(std::span<const float> logits);

}  // namespace rockllm
