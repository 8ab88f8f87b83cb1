// Batched decoding: sequences that share passes of one engine must answer exactly as each would
// alone (greedy and seeded sampling), whatever else is in the pass — another sequence's decoding
// token, a prompt run in chunks, a sequence cancelled halfway — and give all their pages back.
#include <doctest/doctest.h>

#include <atomic>
#include <map>
#include <thread>

#include "llm/embedding.h"
#include "llm/generation.h"
#include "llm/model.h"
#include "llm/sequence_batcher.h"
#include "llm/synthetic_model.h"
#include "llm/transformer.h"
#include "test_support.h"

namespace test_batched_decoding {

using namespace rockllm;
using rockllm::test::testdata;

namespace {

const Model& stories() {
    static const Model model = Model::load(std::make_shared<const gguf::File>(gguf::File::open(testdata("models/stories260K.gguf"))));
    return model;
}

// Quantized models, so that the passes go through the K-quant kernels and the Q8_0 ones (whose
// four-token tiles run only when a pass has four tokens or more).
const Model& synthetic(const std::string& quant) {
    static const test::ScratchDir dir;
    static std::map<std::string, Model> models;
    auto it = models.find(quant);
    if (it == models.end()) {
        const std::string path = dir.file("tiny-qwen2-" + quant + ".gguf");
        write_synthetic_model(find_synthetic_shape("tiny-qwen2"), quant, 11, path);
        it = models.emplace(quant, Model::load(std::make_shared<const gguf::File>(gguf::File::open(path)))).first;
    }
    return it->second;
}
const Model& quantized() { return synthetic("Q4_K_M"); }

TransformerOptions window(int64_t n_ctx, int64_t n_batch = 512) {
    TransformerOptions o;
    o.n_ctx = n_ctx;
    o.n_batch = n_batch;
    o.kv_pool = make_kv_pool(stories().config, n_ctx, 8, GgmlType::F16);
    return o;
}

struct Request {
    std::vector<int32_t> prompt;
    int64_t num_predict = 24;
    float temperature = 0;
    uint64_t seed = 0;
    int64_t cancel_after = -1;  // on_token returns false after this many tokens
};

std::vector<int32_t> run(const GenerationTarget& target, const Request& r) {
    Sampler sampler(r.temperature, r.seed);
    GenerationOptions options;
    options.num_predict = r.num_predict;
    std::vector<int32_t> out;
    generate(target, r.prompt, sampler, options, [&](int32_t t) {
        out.push_back(t);
        return static_cast<int64_t>(out.size()) != r.cancel_after;
    });
    return out;
}

std::vector<int32_t> alone(const Model& model, const Request& r, int64_t n_ctx = 256) {
    TransformerOptions o;
    o.n_ctx = n_ctx;
    Transformer t(model, o);
    return run({t, t.sequence()}, r);
}

// Runs every request in a thread of its own, all in sequences of one engine through one batcher.
std::vector<std::vector<int32_t>> together(Transformer& engine, SequenceBatcher& batcher, const std::vector<Request>& requests) {
    std::vector<std::unique_ptr<Sequence>> sequences;
    for (size_t i = 0; i < requests.size(); ++i) sequences.push_back(engine.new_sequence());
    std::vector<std::vector<int32_t>> out(requests.size());
    std::vector<std::thread> threads;
    for (size_t i = 0; i < requests.size(); ++i)
        threads.emplace_back([&, i] { out[i] = run({engine, *sequences[i], &batcher}, requests[i]); });
    for (auto& t : threads) t.join();
    return out;
}

std::vector<int32_t> story_prompt(int n, int32_t start) {
    std::vector<int32_t> p = {1};
    for (int i = 1; i < n; ++i) p.push_back(static_cast<int32_t>(260 + (start + i * 7) % 250));
    return p;
}

}  // namespace

TEST_SUITE_BEGIN("unit-threads");

TEST_CASE("one pass over several sequences gives each the logits it gets alone") {
    for (const Model* model : {&stories(), &quantized(), &synthetic("Q8_0")}) {
        TransformerOptions o;
        o.n_ctx = 128;
        o.kv_pool = make_kv_pool(model->config, 128, 3, GgmlType::F16);
        Transformer engine(*model, o);
        o.kv_pool = nullptr;  // the lone runs below have pools of their own
        auto a = engine.new_sequence(), b = engine.new_sequence(), c = engine.new_sequence();
        const std::vector<int32_t> pa = story_prompt(9, 1), pb = story_prompt(4, 2), pc = story_prompt(17, 3);
        // Histories of different lengths, then one pass: a decoding token of a and b, a prompt for c.
        engine.forward(*a, std::span(pa).first(8), 0);
        engine.forward(*b, std::span(pb).first(3), 0);
        const SequenceInput inputs[] = {{a.get(), std::span(pa).subspan(8), 8},
                                        {c.get(), pc, 0},
                                        {b.get(), std::span(pb).subspan(3), 3}};
        const std::span<const float> logits = engine.forward(inputs);
        const std::vector<float> together(logits.begin(), logits.end());
        const auto n_vocab = static_cast<size_t>(model->config.n_vocab);
        REQUIRE(together.size() == 3 * n_vocab);
        int index = 0;
        for (const auto& [prompt, slot] : {std::pair{pa, 0}, std::pair{pc, 1}, std::pair{pb, 2}}) {
            Transformer lone(*model, o);
            const std::span<const float> expected = lone.forward(prompt, 0);
            const std::vector<float> got(together.begin() + static_cast<std::ptrdiff_t>(slot * n_vocab),
                                         together.begin() + static_cast<std::ptrdiff_t>((slot + 1) * n_vocab));
            CHECK_MESSAGE(std::equal(expected.begin(), expected.end(), got.begin()), "input " << index);
            ++index;
        }
        // Each sequence's cache records its own tokens.
        CHECK(a->cached_tokens() == pa);
        CHECK(b->cached_tokens() == pb);
        CHECK(c->cached_tokens() == pc);
    }
}

TEST_CASE("batched requests answer as lone ones: greedy, seeded sampling, a long prompt in chunks, a cancelled one") {
    const Model& model = stories();
    Transformer engine(model, window(256));
    SequenceBatcher batcher(engine, /*prefill_chunk=*/16);
    std::vector<Request> requests = {
        {story_prompt(5, 1), 40},
        {story_prompt(12, 2), 30, 0.8f, 42},
        {story_prompt(150, 3), 20},                 // prefilled in chunks of 16 beside the others
        {story_prompt(7, 4), 40, 0.0f, 0, 5},       // leaves the batch after 5 tokens
    };
    const auto before = batcher.counters();
    const auto out = together(engine, batcher, requests);
    const auto after = batcher.counters();
    for (size_t i = 0; i < requests.size(); ++i) {
        INFO("request " << i);
        CHECK(out[i] == alone(model, requests[i]));
    }
    CHECK(out[3].size() == 5);
    // Alone, a request takes a pass for its prompt and one for every answer token it feeds back:
    // at least as many passes as answer tokens. Together they took fewer: they shared passes.
    int64_t alone_passes = 0;
    for (const auto& answer : out) alone_passes += static_cast<int64_t>(answer.size());
    CHECK(after.passes - before.passes < alone_passes);
    CHECK(after.tokens - before.tokens >= alone_passes);
    CHECK(engine.sequence().kv_cache().pool().pages_in_use() == 0);
}

TEST_CASE("batched requests that begin alike share the KV pages of their common prefix and answer as lone ones") {
    const Model& model = stories();
    Transformer engine(model, window(256));
    SequenceBatcher batcher(engine, /*prefill_chunk=*/16);
    const KvPagePool& pool = engine.kv_cache().pool();
    // A sequence that has run the common start (a system prompt, say) donates it to the others.
    const std::vector<int32_t> common = story_prompt(150, 3);
    std::vector<std::unique_ptr<Sequence>> sequences;
    sequences.push_back(engine.new_sequence());
    Sequence* const first[] = {sequences[0].get()};
    run({engine, *sequences[0], &batcher, first}, {common, 4});

    std::vector<Request> requests;
    for (int i = 0; i < 4; ++i) {
        std::vector<int32_t> prompt(common.begin(), common.begin() + (i == 3 ? 100 : 150));
        prompt.push_back(300 + i);
        requests.push_back({prompt, 16, i == 1 ? 0.8f : 0.0f, 7});
    }
    std::vector<Sequence*> donors = {sequences[0].get()};
    for (size_t i = 0; i < requests.size(); ++i) {
        sequences.push_back(engine.new_sequence());
        donors.push_back(sequences.back().get());
    }
    std::vector<std::vector<int32_t>> out(requests.size());
    std::vector<int64_t> evaluated(requests.size());
    std::vector<std::thread> threads;
    for (size_t i = 0; i < requests.size(); ++i)
        threads.emplace_back([&, i] {
            const Request& r = requests[i];
            Sampler sampler(r.temperature, r.seed);
            GenerationOptions options;
            options.num_predict = r.num_predict;
            const GenerationResult result = generate({engine, *sequences[i + 1], &batcher, donors}, r.prompt, sampler, options,
                                                     [&](int32_t t) { return out[i].push_back(t), true; });
            evaluated[i] = result.prompt_evaluated;
        });
    for (auto& t : threads) t.join();
    for (size_t i = 0; i < requests.size(); ++i) {
        INFO("request " << i);
        CHECK(out[i] == alone(model, requests[i]));
        // The common start's two whole pages came from another sequence (the one that ran
        // 100 tokens of it has one page's worth to take).
        CHECK(evaluated[i] == static_cast<int64_t>(requests[i].prompt.size()) - (i == 3 ? 64 : 128));
    }
    CHECK(pool.pages_shared() == 2);  // the common start's two pages, each stored once
    for (auto& s : sequences) s->release();
    CHECK(pool.pages_in_use() == 0);
    CHECK(pool.pages_shared() == 0);
}

TEST_CASE("a hundred batched requests leave no KV page in use, and a bad input fails only its own request") {
    const Model& model = quantized();
    TransformerOptions o;
    o.n_ctx = 128;
    o.kv_pool = make_kv_pool(model.config, 128, 4, GgmlType::F16);
    Transformer engine(model, o);
    SequenceBatcher batcher(engine);
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    std::vector<std::vector<int32_t>> first_answers(4);
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            auto sequence = engine.new_sequence();
            for (int i = 0; i < 25; ++i) {
                Request r{story_prompt(3 + (t * 25 + i) % 11, t * 25 + i), 6};
                if (t == 3 && i == 10) r.prompt.push_back(model.config.n_vocab + 5);  // outside the vocabulary
                try {
                    const auto answer = run({engine, *sequence, &batcher}, r);
                    if (i == 0) first_answers[static_cast<size_t>(t)] = answer;
                } catch (const std::out_of_range&) {
                    ++failures;
                }
                if (i % 3 == 0) sequence->release();  // otherwise the next request reuses the cache
            }
            sequence->release();
        });
    }
    for (auto& t : threads) t.join();
    CHECK(failures == 1);
    for (int t = 0; t < 4; ++t) CHECK(first_answers[static_cast<size_t>(t)] == alone(model, {story_prompt(3 + t * 25 % 11, t * 25), 6}, 128));
    CHECK(engine.sequence().kv_cache().pool().pages_in_use() == 0);
}

TEST_CASE("an embedding runs between passes without disturbing the sequences that are decoding") {
    const Model& model = stories();
    Transformer engine(model, window(256));
    SequenceBatcher batcher(engine);
    const std::vector<int32_t> text = story_prompt(20, 9);
    Transformer lone(model, window(256));
    const std::vector<float> expected = embed(lone, text, Pooling::Mean);
    std::vector<float> got;
    std::vector<std::vector<int32_t>> out;
    std::thread embedder([&] {
        auto sequence = engine.new_sequence();
        for (int i = 0; i < 5; ++i) got = batcher.exclusive([&](Transformer& e) { return embed(e, *sequence, text, Pooling::Mean); });
        sequence->release();
    });
    const std::vector<Request> requests = {{story_prompt(5, 1), 30}, {story_prompt(6, 2), 30}};
    out = together(engine, batcher, requests);
    embedder.join();
    CHECK(got == expected);
    for (size_t i = 0; i < requests.size(); ++i) CHECK(out[i] == alone(model, requests[i]));
}

TEST_SUITE_END();

}  // namespace test_batched_decoding
