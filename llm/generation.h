// The generation loop: feeds the prompt, then samples one token at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "sampler.h"
#include "sequence_batcher.h"
#include "transformer.h"

namespace rockllm {

struct GenerationOptions {
    int64_t num_predict = -1;         // < 0: until an end token (or the context is full without shift)
    std::vector<int32_t> end_tokens;  // generation stops when one of these is sampled (not emitted)
    bool context_shift = true;        // at the end of the window, drop half of the history and go on
    int64_t num_keep = 4;             // positions a context shift never drops (the start of the prompt)
    // Called with the logits each emitted token was sampled from, before on_token (logprobs).
    std::function<void(std::span<const float> logits, int32_t token)> on_sampled;
};

enum class StopReason { EndToken, Length, ContextFull, Cancelled };

struct GenerationResult {
    StopReason reason = StopReason::Length;
    int64_t prompt_tokens = 0;
    int64_t prompt_evaluated = 0;  // of them, the ones run: the rest came from the prompt cache
    int64_t generated_tokens = 0;
};

// Where a generation runs: a sequence of the engine's model, alone or (with a batcher) in passes
// shared with the model's other requests.
struct GenerationTarget {
    Transformer& engine;
    Sequence& sequence;
    SequenceBatcher* batcher = nullptr;
};

// on_token receives each generated token as it is sampled; returning false stops generation. The
// prompt's longest prefix that the sequence's cache already holds (an earlier turn of the
// conversation, a shared system prompt) is not run again.
GenerationResult generate(const GenerationTarget& target, std::span<const int32_t> prompt, Sampler& sampler,
                          const GenerationOptions& options, const std::function<bool(int32_t)>& on_token);
// In the transformer's own sequence.
inline GenerationResult generate(Transformer& transformer, std::span<const int32_t> prompt, Sampler& sampler,
                                 const GenerationOptions& options, const std::function<bool(int32_t)>& on_token) {
    return generate(GenerationTarget{transformer, transformer.sequence()}, prompt, sampler, options, on_token);
}

}  // namespace rockllm
