#include "npu/backend/accuracy.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace rockllm::npu {

namespace {

int32_t argmax(std::span<const float> v) { return static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin()); }

// Copies the residual stream after every layer of the next forward call.
struct LayerRecorder {
    std::vector<std::vector<float>> layers;
    Transformer::LayerObserver observer(int64_t n_embd) {
        return [this, n_embd](int64_t layer, const float* x, int64_t n_tokens) {
            if (static_cast<size_t>(layer) >= layers.size()) layers.resize(static_cast<size_t>(layer) + 1);
            layers[static_cast<size_t>(layer)].insert(layers[static_cast<size_t>(layer)].end(), x, x + n_tokens * n_embd);
        };
    }
};

}  // namespace

double cosine_similarity(const float* a, const float* b, int64_t n) {
    double ab = 0, aa = 0, bb = 0;
    for (int64_t i = 0; i < n; ++i) {
        ab += double(a[i]) * b[i];
        aa += double(a[i]) * a[i];
        bb += double(b[i]) * b[i];
    }
    if (aa == 0 && bb == 0) return 1;
    if (aa == 0 || bb == 0) return 0;
    return ab / std::sqrt(aa * bb);
}

AccuracyReport compare_backends(Transformer& reference, Transformer& candidate, std::span<const int32_t> prompt, int64_t continuation) {
    if (prompt.empty()) throw std::invalid_argument("the prompt has no tokens");
    if (static_cast<int64_t>(prompt.size()) + continuation > std::min(reference.n_ctx(), candidate.n_ctx()))
        throw std::invalid_argument("the prompt and continuation do not fit the context");
    const int64_t n_embd = reference.config().n_embd;
    LayerRecorder ref_layers, cand_layers;
    reference.set_layer_observer(ref_layers.observer(n_embd));
    candidate.set_layer_observer(cand_layers.observer(n_embd));
    const std::span<const float> ref_logits = reference.forward(prompt, 0);
    std::vector<float> first_ref(ref_logits.begin(), ref_logits.end());
    const std::span<const float> cand_logits = candidate.forward(prompt, 0);
    reference.set_layer_observer(nullptr);
    candidate.set_layer_observer(nullptr);

    AccuracyReport r;
    const auto n_tokens = static_cast<int64_t>(prompt.size());
    for (size_t l = 0; l < ref_layers.layers.size(); ++l) {
        LayerAgreement a;
        a.layer = static_cast<int64_t>(l);
        a.cosine_min = 1;
        for (int64_t t = 0; t < n_tokens; ++t) {
            const double c = cosine_similarity(&ref_layers.layers[l][static_cast<size_t>(t * n_embd)],
                                               &cand_layers.layers[l][static_cast<size_t>(t * n_embd)], n_embd);
            a.cosine_min = std::min(a.cosine_min, c);
            a.cosine_mean += c / static_cast<double>(n_tokens);
        }
        r.layers.push_back(a);
    }
    r.logits_cosine = cosine_similarity(first_ref.data(), cand_logits.data(), static_cast<int64_t>(first_ref.size()));

    // Next-token agreement, teacher-forced on the reference's greedy tokens.
    int32_t ref_next = argmax(first_ref), cand_next = argmax(cand_logits);
    int64_t pos = n_tokens;
    for (int64_t i = 0;; ++i) {
        r.positions += 1;
        r.top1_agreements += ref_next == cand_next;
        r.reference_tokens.push_back(ref_next);
        if (i == continuation) break;
        const int32_t fed = ref_next;
        ref_next = argmax(reference.forward(fed, pos));
        cand_next = argmax(candidate.forward(fed, pos));
        ++pos;
    }
    reference.release_kv();
    candidate.release_kv();
    return r;
}

}  // namespace rockllm::npu
