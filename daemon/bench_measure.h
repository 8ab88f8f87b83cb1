// The measurements of rockllm bench, shared by its table and its comparison mode.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

#include "llm/bert_encoder.h"
#include "llm/transformer.h"

namespace rockllm {

// One prompt-processing run: p random tokens from position 0; tokens per second.
double measure_prompt(Transformer& transformer, int p, std::mt19937& rng);
// One generation run: g tokens fed one at a time from a random one, each the greedy choice
// after the last; tokens per second.
double measure_generation(Transformer& transformer, int g, std::mt19937& rng);
// One embedding: p random tokens through an encoder, pooled; tokens per second.
double measure_embedding(BertEncoder& encoder, int p, std::mt19937& rng);

}  // namespace rockllm
