// The cost of structured outputs per generated token, for `rockllm bench --format-vocab`: a JSON
// schema constrains sampling from random logits over a real vocabulary, as a request with "format"
// would, and the time the constraint takes is reported per token.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace rockllm {

class Tokenizer;

struct FormatBenchResult {
    std::string vocabulary;
    int32_t vocabulary_size = 0;
    int64_t tokens = 0;            // tokens sampled under the constraint
    int64_t answers = 0;           // complete answers among them
    double us_per_token = 0;       // all constraint work (checks and masks) per token
    double full_mask_us = 0;       // one mask computed from scratch (a state not seen before)
    double cache_hit_rate = 0;     // masks answered from the state cache
    double refused_draw_rate = 0;  // draws the constraint refused (a mask was needed)

    nlohmann::json to_json() const;
};

// Samples `tokens` tokens (answer after answer) with a fixed schema and seeded random logits.
FormatBenchResult bench_format_masking(const Tokenizer& tokenizer, const std::string& name, int64_t tokens, uint64_t seed);

}  // namespace rockllm
