// The NPU path against the reference, side by side, in the manner of RKNN-Toolkit2's quantization
// analysis: the same prompt through two Transformers of one model — the reference (the CPU
// backend: the weights as the file has them) and the candidate (the NPU backend) — comparing the
// residual stream after every layer (cosine similarity per token) and the next-token choice at
// every position of a continuation (teacher-forced: both are fed the reference's greedy tokens, so
// one early disagreement does not decide the rest).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "llm/transformer.h"

namespace rockllm::npu {

struct LayerAgreement {
    int64_t layer = 0;
    double cosine_min = 0, cosine_mean = 0;  // over the prompt's tokens
};

struct AccuracyReport {
    std::vector<LayerAgreement> layers;
    double logits_cosine = 0;       // the next-token logits after the prompt
    int64_t positions = 0;          // positions whose next token was compared (prompt's last and the continuation)
    int64_t top1_agreements = 0;    // of which both chose the same token
    std::vector<int32_t> reference_tokens;  // the reference's greedy continuation
};

double cosine_similarity(const float* a, const float* b, int64_t n);

AccuracyReport compare_backends(Transformer& reference, Transformer& candidate, std::span<const int32_t> prompt, int64_t continuation);

}  // namespace rockllm::npu
