#include "daemon/format_bench.h"

#include <chrono>
#include <random>
#include <stdexcept>
#include <string_view>

#include "grammar/json_schema_grammar.h"
#include "grammar/token_constraint.h"
#include "llm/sampler.h"
#include "tokenizer/tokenizer.h"

namespace rockllm {

namespace {

// Strings, numbers, an enum, an array and a nested object: the states a typical schema visits.
constexpr const char* kSchema = R"({"type":"object","properties":{
    "name":{"type":"string"},"age":{"type":"integer"},"score":{"type":"number"},
    "mood":{"enum":["happy","sad","curious"]},"tags":{"type":"array","items":{"type":"string"},"maxItems":4},
    "home":{"type":"object","properties":{"city":{"type":"string"},"floor":{"type":["integer","null"]}},"required":["city","floor"]}},
    "required":["name","age","score","mood","tags","home"]})";

using Clock = std::chrono::steady_clock;

}  // namespace

nlohmann::json FormatBenchResult::to_json() const {
    return {{"vocabulary", vocabulary}, {"vocabulary_size", vocabulary_size}, {"tokens", tokens}, {"answers", answers},
            {"us_per_token", us_per_token}, {"full_mask_us", full_mask_us}, {"cache_hit_rate", cache_hit_rate},
            {"refused_draw_rate", refused_draw_rate}};
}

FormatBenchResult bench_format_masking(const Tokenizer& tokenizer, const std::string& name, int64_t tokens, uint64_t seed) {
    const Grammar grammar = grammar_for_format(nlohmann::ordered_json::parse(kSchema));
    const SortedVocabulary vocabulary(tokenizer.all_pieces());
    const std::vector<int32_t> end_tokens = tokenizer.vocabulary().end_of_generation_ids();

    FormatBenchResult result;
    result.vocabulary = name;
    result.vocabulary_size = vocabulary.size();

    // One mask from scratch: the state inside a string, where nearly every token is allowed.
    {
        TokenConstraint fresh(grammar, vocabulary, end_tokens, -1);
        // Spell the start of the answer with the longest pieces that fit.
        std::string_view text = R"({"name":")";
        while (!text.empty()) {
            int32_t best = -1;
            for (int32_t id = 0; id < vocabulary.size(); ++id) {
                const std::string& piece = vocabulary.piece(id);
                if (!piece.empty() && text.substr(0, piece.size()) == piece &&
                    (best < 0 || piece.size() > vocabulary.piece(best).size()))
                    best = id;
            }
            if (best < 0) throw std::runtime_error("the vocabulary cannot spell " + std::string(text));
            fresh.accept(best);
            text.remove_prefix(vocabulary.piece(best).size());
        }
        std::vector<float> logits(static_cast<size_t>(vocabulary.size()), 0.0f);
        const auto start = Clock::now();
        fresh.mask(logits);
        result.full_mask_us = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
    }

    std::mt19937 rng(static_cast<uint32_t>(seed));
    std::normal_distribution<float> noise(0.0f, 3.0f);
    std::vector<float> logits(static_cast<size_t>(vocabulary.size()));
    int64_t checks = 0, masks = 0, hits = 0, constraint_ns = 0;
    while (result.tokens < tokens) {
        TokenConstraint constraint(grammar, vocabulary, end_tokens, 512);
        SamplerOptions options;
        options.temperature = 1.0f;
        options.seed = rng();
        Sampler sampler(options);
        sampler.set_constraint(&constraint);
        while (result.tokens < tokens && !constraint.finished()) {
            for (float& l : logits) l = noise(rng);
            const int32_t token = sampler.sample(logits);
            ++result.tokens;
            if (std::find(end_tokens.begin(), end_tokens.end(), token) != end_tokens.end()) break;
        }
        if (constraint.finished()) ++result.answers;
        const ConstraintStats& s = constraint.stats();
        checks += s.checks;
        masks += s.masks;
        hits += s.mask_cache_hits;
        constraint_ns += s.check_ns + s.mask_ns;
    }
    result.us_per_token = static_cast<double>(constraint_ns) / 1000.0 / static_cast<double>(std::max<int64_t>(result.tokens, 1));
    result.cache_hit_rate = masks > 0 ? static_cast<double>(hits) / static_cast<double>(masks) : 0.0;
    result.refused_draw_rate = static_cast<double>(masks) / static_cast<double>(std::max<int64_t>(result.tokens, 1));
    (void)checks;
    return result;
}

}  // namespace rockllm
