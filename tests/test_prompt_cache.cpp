// The prompt cache: a transformer keeps the keys and values of what it last ran, and the next
// generation runs only what follows the prefix the two share. Its answers must be those of a
// fresh transformer, token for token: the next chat turn, a prompt that leaves the cached one in
// the middle, the same prompt again, seeded sampling, and a cache that went through a context shift.
#include <doctest/doctest.h>

#include "llm/generation.h"
#include "llm/model.h"
#include "llm/transformer.h"
#include "test_support.h"

using namespace rockllm;
using rockllm::test::testdata;

namespace {

struct Run {
    std::vector<int32_t> tokens;
    GenerationResult result;
};

Run run(Transformer& transformer, const std::vector<int32_t>& prompt, int64_t num_predict, float temperature = 0, uint64_t seed = 0) {
    Sampler sampler(temperature, seed);
    GenerationOptions options;
    options.num_predict = num_predict;
    Run r;
    r.result = generate(transformer, prompt, sampler, options, [&](int32_t t) { return r.tokens.push_back(t), true; });
    return r;
}

const Model& stories() {
    static const Model model = Model::load(std::make_shared<const gguf::File>(gguf::File::open(testdata("models/stories260K.gguf"))));
    return model;
}

TransformerOptions window(int64_t n_ctx) {
    TransformerOptions o;
    o.n_ctx = n_ctx;
    return o;
}

std::vector<int32_t> concat(std::vector<int32_t> a, const std::vector<int32_t>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

}  // namespace

TEST_SUITE_BEGIN("unit");

TEST_CASE("prompt cache: the next turn, a divergent prompt and the same prompt run only their new tokens and answer as a fresh start") {
    const Model& model = stories();
    Transformer cached(model, window(256));
    const std::vector<int32_t> first = {1, 403, 407, 261, 378};  // "Once upon a time" and more
    const Run turn1 = run(cached, first, 20);
    CHECK(turn1.result.prompt_evaluated == 5);
    // The cache holds the prompt and every answer token but the last (sampled, never fed back).
    CHECK(cached.cached_tokens().size() == first.size() + turn1.tokens.size() - 1);

    // The next turn: the whole conversation so far, and a new question.
    const std::vector<int32_t> second = concat(concat(first, turn1.tokens), {13, 1, 403, 298});
    const Run turn2 = run(cached, second, 30);
    Transformer fresh(model, window(256));
    const Run reference2 = run(fresh, second, 30);
    CHECK(turn2.tokens == reference2.tokens);
    CHECK(turn2.result.prompt_tokens == static_cast<int64_t>(second.size()));
    CHECK(turn2.result.prompt_evaluated == static_cast<int64_t>(second.size() - (first.size() + turn1.tokens.size() - 1)));
    CHECK(reference2.result.prompt_evaluated == static_cast<int64_t>(second.size()));

    // A prompt that leaves the cached one after three tokens: the rest is run again.
    const std::vector<int32_t> divergent = {1, 403, 407, 300, 301, 302};
    const Run turn3 = run(cached, divergent, 25);
    Transformer fresh3(model, window(256));
    CHECK(turn3.tokens == run(fresh3, divergent, 25).tokens);
    CHECK(turn3.result.prompt_evaluated == 3);

    // The same prompt again: only its last token runs (for the logits of the first answer token).
    const Run again = run(cached, divergent, 25);
    CHECK(again.tokens == turn3.tokens);
    CHECK(again.result.prompt_evaluated == 1);

    // Seeded sampling draws the same tokens from the cache as from a fresh start.
    const Run sampled = run(cached, second, 30, 0.9f, 1234);
    Transformer fresh4(model, window(256));
    CHECK(sampled.tokens == run(fresh4, second, 30, 0.9f, 1234).tokens);
    CHECK(sampled.result.prompt_evaluated < static_cast<int64_t>(second.size()));

    // Released, the cache holds nothing and gives its pages back.
    cached.release_kv();
    CHECK(cached.cached_tokens().empty());
    CHECK(cached.kv_cache().pool().pages_in_use() == 0);
}

TEST_CASE("prompt cache: after a context shift only the kept start is reused, and the answer is a fresh start's") {
    const Model& model = stories();
    Transformer cached(model, window(32));
    const std::vector<int32_t> prompt = {1, 403, 407, 261, 378, 432};
    const Run shifted = run(cached, prompt, 60);  // 66 positions through a 32-position window: shifts
    CHECK(shifted.tokens.size() == 60);
    CHECK(cached.cached_tokens().size() <= 32);

    const std::vector<int32_t> next = concat(prompt, {13, 300});
    const Run after = run(cached, next, 20);
    Transformer fresh(model, window(32));
    CHECK(after.tokens == run(fresh, next, 20).tokens);
    CHECK(after.result.prompt_evaluated == static_cast<int64_t>(next.size()) - 4);  // num_keep 4 positions stayed in place
}

TEST_SUITE_END();
