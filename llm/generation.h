// The generation loop: feeds the prompt, then samples one token at a time. The one loop of the
// program (rockllm generate, bench and the server), so that they fit prompts, limit answers and
// count the same way; turning tokens into text and stop strings is the caller's (the tokenizer's).
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
    // < 0: until an end token or the context is full. With context shift, an unlimited (or larger)
    // num_predict is held to kMaxAnswerWindows windows, so no answer holds its sequence for good.
    int64_t num_predict = -1;
    std::vector<int32_t> end_tokens;  // generation stops when one of these is sampled (not emitted)
    bool context_shift = true;        // at the end of the window, drop half of the history and go on
    int64_t num_keep = 4;             // positions a context shift never drops (the start of the prompt)
    // Called with the logits each emitted token was sampled from, before on_token (logprobs).
    std::function<void(std::span<const float> logits, int32_t token)> on_sampled;
};

enum class StopReason { EndToken, Length, ContextFull, Cancelled };

inline constexpr int64_t kMaxAnswerWindows = 10;

struct GenerationResult {
    StopReason reason = StopReason::Length;
    int64_t prompt_tokens = 0;     // after fit_prompt
    int64_t prompt_evaluated = 0;  // of them, the ones run: the rest came from the prompt cache
    int64_t generated_tokens = 0;
    int64_t prompt_eval_ns = 0;    // until the logits after the prompt were ready
    int64_t eval_ns = 0;           // from then to the end
};

// A prompt as long as the context or longer keeps its first token and its last n_ctx / 2, which
// leaves half the window to answer in (Ollama's runner keeps num_keep tokens and cuts to exactly
// num_ctx instead, so its first answer token already shifts the context); a shorter prompt is
// returned whole.
std::vector<int32_t> fit_prompt(std::span<const int32_t> prompt, int64_t n_ctx);

// Where a generation runs: a sequence of the engine's model, alone or (with a batcher) in passes
// shared with the model's other requests. donors are the model's other sequences, whose KV pages
// of a prefix the prompt shares with them are taken rather than computed again.
struct GenerationTarget {
    Transformer& engine;
    Sequence& sequence;
    SequenceBatcher* batcher = nullptr;
    std::span<Sequence* const> donors = {};
};

// on_token receives each generated token as it is sampled; returning false stops generation. The
// prompt's longest prefix that the sequence's cache already holds (an earlier turn of the
// conversation), or that a donor holds in whole KV pages (a shared system prompt), is not run again.
// The prompt is fitted to the context first (fit_prompt).
GenerationResult generate(const GenerationTarget& target, std::span<const int32_t> prompt, Sampler& sampler,
                          const GenerationOptions& options, const std::function<bool(int32_t)>& on_token);
// In the transformer's own sequence.
inline GenerationResult generate(Transformer& transformer, std::span<const int32_t> prompt, Sampler& sampler,
                                 const GenerationOptions& options, const std::function<bool(int32_t)>& on_token) {
    return generate(GenerationTarget{transformer, transformer.sequence()}, prompt, sampler, options, on_token);
}

}  // namespace rockllm
