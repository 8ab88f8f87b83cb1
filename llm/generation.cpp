#include "generation.h"

#include "base/elapsed.h"
#include "llm/token_filter.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>

namespace rockllm {

std::vector<int32_t> fit_prompt(std::span<const int32_t> prompt, int64_t n_ctx) {
    std::vector<int32_t> out(prompt.begin(), prompt.end());
    if (static_cast<int64_t>(out.size()) >= n_ctx && !out.empty()) {
        const auto keep = static_cast<std::ptrdiff_t>(n_ctx / 2);
        out.erase(out.begin() + 1, out.end() - keep);
    }
    return out;
}

GenerationResult generate(const GenerationTarget& target, std::span<const int32_t> whole_prompt, Sampler& sampler,
                          const GenerationOptions& options, const std::function<bool(int32_t)>& on_token) {
    const auto start = std::chrono::steady_clock::now();
    Transformer& transformer = target.engine;
    const std::vector<int32_t> fitted = fit_prompt(whole_prompt, transformer.n_ctx());
    const std::span<const int32_t> prompt = fitted;
    int64_t num_predict = options.num_predict;
    if (options.context_shift && (num_predict < 0 || num_predict > kMaxAnswerWindows * transformer.n_ctx()))
        num_predict = kMaxAnswerWindows * transformer.n_ctx();
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
    GenerationResult result;
    auto prompt_done = start;
    const auto finish = [&](StopReason reason) {
        result.reason = reason;
        result.prompt_eval_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(prompt_done - start).count();
        result.eval_ns = ns_since(prompt_done);
        return result;
    };
    result.prompt_tokens = static_cast<int64_t>(prompt.size());

    for (int32_t token : prompt) sampler.accept(token);
    int64_t reused = sequence.reusable_prefix(prompt);
    for (Sequence* donor : target.donors) reused = std::max(reused, sequence.share_prefix(*donor, prompt));
    sequence.keep_prefix(reused);
    std::span<const float> logits = forward(prompt.subspan(static_cast<size_t>(reused)), reused);
    result.prompt_evaluated = result.prompt_tokens - reused;
    prompt_done = std::chrono::steady_clock::now();
    int64_t pos = static_cast<int64_t>(prompt.size());

    if (num_predict == 0) return finish(StopReason::Length);  // the prompt was only evaluated
    while (true) {
        // A structured answer that is complete ends as if the model had ended it.
        if (sampler.constraint() != nullptr && sampler.constraint()->finished()) return finish(StopReason::EndToken);
        const int32_t next = sampler.sample(logits);
        if (std::find(options.end_tokens.begin(), options.end_tokens.end(), next) != options.end_tokens.end())
            return finish(StopReason::EndToken);
        ++result.generated_tokens;
        if (options.on_sampled) options.on_sampled(logits, next);
        if (!on_token(next)) return finish(StopReason::Cancelled);
        if (result.generated_tokens == num_predict) return finish(StopReason::Length);
        if (pos >= transformer.n_ctx()) {
            const int64_t n_keep = std::max<int64_t>(0, std::min(options.num_keep, transformer.n_ctx() - 2));
            const int64_t n_discard = (transformer.n_ctx() - n_keep) / 2;
            if (!options.context_shift || n_discard <= 0) return finish(StopReason::ContextFull);
            transformer.shift_context(sequence, n_keep, n_discard, pos);
            pos -= n_discard;
        }
        logits = forward(std::span(&next, 1), pos++);
    }
}

}  // namespace rockllm
