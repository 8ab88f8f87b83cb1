#include "sampler.h"

#include "llm/token_filter.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <unordered_map>

namespace rockllm {

int32_t argmax(std::span<const float> logits) {
    if (logits.empty()) throw std::invalid_argument("argmax of no logits");
    size_t best = 0;
    for (size_t i = 1; i < logits.size(); ++i)
        if (logits[i] > logits[best]) best = i;  // first index wins a tie
    return static_cast<int32_t>(best);
}

namespace {

SamplerOptions plain(float temperature, uint64_t seed) {
    SamplerOptions o;
    o.temperature = temperature;
    o.top_k = 0;
    o.top_p = 1.0f;
    o.seed = seed;
    return o;
}

template <class C>
void softmax(std::vector<C>& c) {
    const float max = std::max_element(c.begin(), c.end(), [](auto& a, auto& b) { return a.logit < b.logit; })->logit;
    double sum = 0;
    for (auto& x : c) sum += (x.p = std::exp(x.logit - max));
    for (auto& x : c) x.p = static_cast<float>(x.p / sum);
}

}  // namespace

Sampler::Sampler(float temperature, uint64_t seed) : Sampler(plain(temperature, seed)) {}

void SamplerOptions::validate() const {
    const auto check = [](bool ok, const char* what) {
        if (!ok) throw std::invalid_argument(what);
    };
    check(std::isfinite(temperature) && temperature >= 0, "temperature must be a finite number >= 0");
    check(std::isfinite(top_p) && top_p >= 0 && top_p <= 1, "top_p must be between 0 and 1");
    check(std::isfinite(min_p) && min_p >= 0 && min_p <= 1, "min_p must be between 0 and 1");
    check(std::isfinite(typical_p) && typical_p >= 0 && typical_p <= 1, "typical_p must be between 0 and 1");
    check(repeat_last_n >= -1, "repeat_last_n must be -1, 0 or positive");
    check(std::isfinite(repeat_penalty) && repeat_penalty > 0, "repeat_penalty must be positive");
    check(std::isfinite(presence_penalty) && std::isfinite(frequency_penalty), "presence_penalty and frequency_penalty must be finite");
}

Sampler::Sampler(const SamplerOptions& options, int64_t n_ctx) : options_(options), rng_(options.seed) {
    options.validate();
    history_limit_ = options.repeat_last_n < 0 ? static_cast<size_t>(std::max<int64_t>(n_ctx, 0))
                                               : static_cast<size_t>(options.repeat_last_n);
}

void Sampler::accept(int32_t token) {
    if (history_limit_ == 0) return;
    history_.push_back(token);
    if (history_.size() > history_limit_) history_.pop_front();
}

void Sampler::apply_penalties(std::vector<Candidate>& candidates) const {
    if (history_.empty()) return;
    const bool repeat = options_.repeat_penalty != 1.0f;
    if (!repeat && options_.presence_penalty == 0.0f && options_.frequency_penalty == 0.0f) return;
    std::unordered_map<int32_t, int> counts;
    for (int32_t t : history_) ++counts[t];
    for (const auto& [token, count] : counts) {
        if (token < 0 || static_cast<size_t>(token) >= candidates.size()) continue;
        float& logit = candidates[token].logit;  // candidates are still indexed by id here
        if (repeat) logit = logit > 0 ? logit / options_.repeat_penalty : logit * options_.repeat_penalty;
        logit -= static_cast<float>(count) * options_.frequency_penalty + options_.presence_penalty;
    }
}

int32_t Sampler::sample(std::span<const float> logits) {
    int32_t chosen = draw(logits);
    if (constraint_ != nullptr) {
        if (!constraint_->allows(chosen)) {
            masked_.assign(logits.begin(), logits.end());
            if (!constraint_->mask(masked_)) throw std::runtime_error("the requested format allows no token at this point");
            chosen = draw(masked_);
        }
        constraint_->accept(chosen);
    }
    accept(chosen);
    return chosen;
}

int32_t Sampler::draw(std::span<const float> logits) {
    if (logits.empty()) throw std::invalid_argument("no logits to sample from");
    candidates_.resize(logits.size());
    for (size_t i = 0; i < logits.size(); ++i) candidates_[i] = {static_cast<int32_t>(i), logits[i], 0.0f};
    apply_penalties(candidates_);
    std::vector<Candidate>& c = candidates_;

    int32_t chosen;
    if (options_.temperature == 0.0f) {
        chosen = std::max_element(c.begin(), c.end(), [](auto& a, auto& b) { return a.logit < b.logit; })->id;
    } else {
        // top_k: keep the k highest logits, sorted best first (ties keep the lower id first).
        const auto better = [](const Candidate& a, const Candidate& b) {
            return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
        };
        const size_t k = options_.top_k > 0 ? std::min(c.size(), static_cast<size_t>(options_.top_k)) : c.size();
        std::partial_sort(c.begin(), c.begin() + static_cast<std::ptrdiff_t>(k), c.end(), better);
        c.resize(k);

        if (options_.typical_p < 1.0f) {
            // Locally typical sampling: prefer tokens whose surprise is close to the entropy.
            softmax(c);
            double entropy = 0;
            for (const auto& x : c)
                if (x.p > 0) entropy -= x.p * std::log(x.p);
            std::vector<std::pair<double, size_t>> order;
            for (size_t i = 0; i < c.size(); ++i)
                order.emplace_back(std::abs(-std::log(std::max(c[i].p, 1e-30f)) - entropy), i);
            std::stable_sort(order.begin(), order.end());
            std::vector<Candidate> kept;
            double cumulative = 0;
            for (const auto& [shift, i] : order) {
                kept.push_back(c[i]);
                cumulative += c[i].p;
                if (cumulative >= options_.typical_p) break;
            }
            std::sort(kept.begin(), kept.end(), better);
            c = std::move(kept);
        }
        if (options_.top_p < 1.0f) {
            softmax(c);
            double cumulative = 0;
            size_t keep = 0;
            while (keep < c.size()) {
                cumulative += c[keep++].p;
                if (cumulative >= options_.top_p) break;
            }
            c.resize(std::max<size_t>(keep, 1));
        }
        if (options_.min_p > 0.0f) {
            softmax(c);
            const float threshold = options_.min_p * c.front().p;
            size_t keep = 1;
            while (keep < c.size() && c[keep].p >= threshold) ++keep;
            c.resize(keep);
        }
        for (auto& x : c) x.logit /= options_.temperature;
        softmax(c);
        // Inverse-CDF draw: the same on every platform for a given seed (unlike std::discrete_distribution).
        const double target = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
        double cumulative = 0;
        chosen = c.back().id;
        for (const auto& x : c) {
            cumulative += x.p;
            if (target < cumulative) {
                chosen = x.id;
                break;
            }
        }
    }
    return chosen;
}

}  // namespace rockllm
