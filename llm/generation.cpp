#include "generation.h"

#include "llm/token_filter.h"

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <string>

namespace rockllm {

GenerationResult generate(const GenerationTarget& target, std::span<const int32_t> prompt, Sampler& sampler,
                          const GenerationOptions& options, const std::function<bool(int32_t)>& on_token) {
    Transformer& transformer = target.engine;
    Sequence& sequence = target.sequence;
    std::optional<SequenceBatcher::Participant> participant;
    if (target.batcher) participant.emplace(*target.batcher);
    std::vector<float> batched_logits;
    const auto forward = [&](std::span<const int32_t> tokens, int64_t pos) -> std::span<const float> {
        if (!target.batcher) return transformer.forward(sequence, tokens, pos);
        target.batcher->forward(sequence, tokens, pos, batched_logits);
        return batched_logits;
    };
    if (prompt.empty()) throw std::invalid_argument("the prompt has no tokens (the model needs at least one)");
    if (static_cast<int64_t>(prompt.size()) > transformer.n_ctx())
        throw std::invalid_argument("the prompt has " + std::to_string(prompt.size()) +
                                    " tokens, more than the context window of " + std::to_string(transformer.n_ctx()));
    GenerationResult result;
    result.prompt_tokens = static_cast<int64_t>(prompt.size());

    for (int32_t token : prompt) sampler.accept(token);
    const int64_t reused = sequence.reusable_prefix(prompt);
    sequence.keep_prefix(reused);
    std::span<const float> logits = forward(prompt.subspan(static_cast<size_t>(reused)), reused);
    result.prompt_evaluated = result.prompt_tokens - reused;
    int64_t pos = static_cast<int64_t>(prompt.size());

    if (options.num_predict == 0) return result;  // reason Length: the prompt was only evaluated
    while (true) {
        if (sampler.constraint() != nullptr && sampler.constraint()->finished()) {
            result.reason = StopReason::EndToken;  // the structured answer is complete
            return result;
        }
        const int32_t next = sampler.sample(logits);
        if (std::find(options.end_tokens.begin(), options.end_tokens.end(), next) != options.end_tokens.end()) {
            result.reason = StopReason::EndToken;
            return result;
        }
        ++result.generated_tokens;
        if (options.on_sampled) options.on_sampled(logits, next);
        if (!on_token(next)) {
            result.reason = StopReason::Cancelled;
            return result;
        }
        if (result.generated_tokens == options.num_predict) {
            result.reason = StopReason::Length;
            return result;
        }
        if (pos >= transformer.n_ctx()) {
            const int64_t n_keep = std::max<int64_t>(0, std::min(options.num_keep, transformer.n_ctx() - 2));
            const int64_t n_discard = (transformer.n_ctx() - n_keep) / 2;
            if (!options.context_shift || n_discard <= 0) {
                result.reason = StopReason::ContextFull;
                return result;
            }
            transformer.shift_context(sequence, n_keep, n_discard, pos);
            pos -= n_discard;
        }
        logits = forward(std::span(&next, 1), pos++);
    }
}

}  // namespace rockllm
