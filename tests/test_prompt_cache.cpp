// The prompt cache: a transformer keeps the keys and values of what it last ran, and the next
// generation runs only what follows the prefix the two share. Its answers must be those of a
// fresh transformer, token for token: the next chat turn, a prompt that leaves the cached one in
// the middle, the same prompt again, seeded sampling, and a cache that went through a context shift.
// Sequences of one engine share the whole KV pages of a common prefix, copy-on-write.
#include <doctest/doctest.h>

#include "llm/generation.h"
#include "llm/model.h"
#include "llm/transformer.h"
#include "test_support.h"

namespace test_prompt_cache {

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

TransformerOptions window(int64_t n_ctx, int sequences = 1) {
    TransformerOptions o;
    o.n_ctx = n_ctx;
    if (sequences > 1) o.kv_pool = make_kv_pool(stories().config, n_ctx, sequences, GgmlType::F16);
    return o;
}

std::vector<int32_t> concat(std::vector<int32_t> a, const std::vector<int32_t>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

std::vector<int32_t> first_n(const std::vector<int32_t>& tokens, size_t n) { return {tokens.begin(), tokens.begin() + n}; }

// A generation in one sequence of the engine, taking shared prefixes from the donors.
Run run_in(Transformer& engine, Sequence& sequence, std::span<Sequence* const> donors, const std::vector<int32_t>& prompt,
           int64_t num_predict) {
    Sampler sampler(0.0f, 0);
    GenerationOptions options;
    options.num_predict = num_predict;
    Run r;
    r.result = generate(GenerationTarget{engine, sequence, nullptr, donors}, prompt, sampler, options,
                        [&](int32_t t) { return r.tokens.push_back(t), true; });
    return r;
}

std::vector<int32_t> fresh_answer(const std::vector<int32_t>& prompt, int64_t num_predict, int64_t n_ctx = 512) {
    Transformer fresh(stories(), window(n_ctx));
    return run(fresh, prompt, num_predict).tokens;
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

TEST_CASE("shared prefix: a sequence takes another's whole pages of a common prefix, stored once, and writes only to copies") {
    const Model& model = stories();
    Transformer engine(model, window(512, 3));
    const KvPagePool& pool = engine.kv_cache().pool();
    const int64_t page = pool.layout().page_tokens;
    auto a = engine.new_sequence(), b = engine.new_sequence();
    Sequence* const both[] = {a.get(), b.get()};

    // A holds a story of 150 positions (two whole pages and part of a third).
    const std::vector<int32_t> opening = {1, 403, 407, 261, 378};
    const std::vector<int32_t> story = concat(opening, run_in(engine, *a, both, opening, 146).tokens);
    const Run a_first = run_in(engine, *a, both, story, 10);
    REQUIRE(a->cached_tokens().size() >= 2 * static_cast<size_t>(page) + 20);
    const int64_t pages_of_a = pool.pages_in_use();

    // B's prompt leaves A's after 140 tokens: it takes A's first two pages and runs the rest.
    const std::vector<int32_t> b_prompt = concat(first_n(story, 140), {13, 1, 403, 298});
    const Run b_first = run_in(engine, *b, both, b_prompt, 20);
    CHECK(b_first.tokens == fresh_answer(b_prompt, 20));
    CHECK(b_first.result.prompt_evaluated == static_cast<int64_t>(b_prompt.size()) - 2 * page);
    CHECK(pool.pages_shared() == 2);
    const auto b_length = static_cast<int64_t>(b_prompt.size() + b_first.tokens.size()) - 1;  // the last token is never fed
    CHECK(pool.pages_in_use() == pages_of_a + (b_length + page - 1) / page - 2);  // the two pages are stored once

    // A diverges in its second page, which B holds too: A writes to a copy, B's keys stay as they were.
    const std::vector<int32_t> a_divergent = concat(first_n(story, 100), {300, 301});
    const Run a_second = run_in(engine, *a, both, a_divergent, 20);
    CHECK(a_second.tokens == fresh_answer(a_divergent, 20));
    CHECK(a_second.result.prompt_evaluated == 2);
    CHECK(pool.pages_shared() == 1);
    const Run b_again = run_in(engine, *b, both, b_prompt, 20);
    CHECK(b_again.tokens == b_first.tokens);
    CHECK(b_again.result.prompt_evaluated == 1);

    // A prompt that shares less than a whole page with any sequence takes nothing.
    const std::vector<int32_t> short_prompt = concat(first_n(story, 40), {302});
    auto c = engine.new_sequence();
    Sequence* const all[] = {a.get(), b.get(), c.get()};
    const Run c_run = run_in(engine, *c, all, short_prompt, 5);
    CHECK(c_run.result.prompt_evaluated == static_cast<int64_t>(short_prompt.size()));
    CHECK(c_run.tokens == fresh_answer(short_prompt, 5));

    a->release();
    b->release();
    c->release();
    CHECK(pool.pages_in_use() == 0);
    CHECK(pool.pages_shared() == 0);
    (void)a_first;
}

TEST_CASE("shared prefix: a context shift in a sequence holding shared pages leaves the other holder's alone") {
    const Model& model = stories();
    Transformer engine(model, window(192, 2));
    const KvPagePool& pool = engine.kv_cache().pool();
    auto a = engine.new_sequence(), b = engine.new_sequence();
    Sequence* const both[] = {a.get(), b.get()};
    const std::vector<int32_t> opening = {1, 403, 407, 261, 378};
    const std::vector<int32_t> story = concat(opening, run_in(engine, *a, both, opening, 140).tokens);
    const Run a_answer = run_in(engine, *a, both, story, 10);

    // B shares A's first two pages, then runs past the 192-position window: its shift moves its
    // positions down through the shared pages, so it copies them first.
    const std::vector<int32_t> b_prompt = concat(first_n(story, 135), {13});
    const Run b_run = run_in(engine, *b, both, b_prompt, 120);
    REQUIRE(b_run.tokens.size() == 120);  // no end token before the shift
    CHECK(b_run.result.prompt_evaluated == static_cast<int64_t>(b_prompt.size()) - 128);
    CHECK(b_run.tokens == fresh_answer(b_prompt, 120, 192));
    CHECK(pool.pages_shared() == 0);

    // A's cache is untouched: the same prompt again gives the same answer from its cache.
    const Run a_again = run_in(engine, *a, both, story, 10);
    CHECK(a_again.tokens == a_answer.tokens);
    CHECK(a_again.result.prompt_evaluated == 1);
}

TEST_SUITE_END();

}  // namespace test_prompt_cache
