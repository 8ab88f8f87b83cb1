// The llama forward pass against reference outputs of llama2.c's run.c on the same weights.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>

#include <nlohmann/json.hpp>

#include "llm/generation.h"
#include "llm/gguf_writer.h"
#include "llm/model.h"
#include "llm/quant/quantize.h"
#include "llm/transformer.h"
#include "test_support.h"

namespace test_llama_forward {

using namespace rockllm;
using rockllm::test::testdata;

namespace {

std::shared_ptr<const gguf::File> stories() {
    return std::make_shared<const gguf::File>(gguf::File::open(testdata("models/stories260K.gguf")));
}

// The reference was computed in fp32 throughout, so these tests keep the KV cache in F32.
TransformerOptions f32_cache(int64_t n_ctx) {
    TransformerOptions o;
    o.n_ctx = n_ctx;
    o.kv_type = GgmlType::F32;
    return o;
}

}  // namespace

TEST_SUITE_BEGIN("unit");

TEST_CASE("stories260K: configuration") {
    const Model model = Model::load(stories());
    const ModelConfig& c = model.config;
    CHECK(c.n_vocab == 512);
    CHECK(c.n_embd == 64);
    CHECK(c.n_layer == 5);
    CHECK(c.n_head == 8);
    CHECK(c.n_head_kv == 4);
    CHECK(c.head_dim == 8);
    CHECK(c.n_ff == 172);
    CHECK(c.n_ctx_train == 2048);
}

TEST_CASE("stories260K: logits at every prompt position match llama2.c to 1e-4 relative") {
    const auto reference = nlohmann::json::parse(test::read_text(testdata("models/stories260K.logits.json")));
    const Model model = Model::load(stories());
    Transformer transformer(model, f32_cache(64));
    const auto& rows = reference.at("rows");
    REQUIRE(rows.size() == 5);
    double worst = 0;
    for (const auto& row : rows) {
        const auto logits = transformer.forward(row.at("input_token").get<int32_t>(), row.at("pos").get<int64_t>());
        const auto expected = row.at("logits").get<std::vector<float>>();
        REQUIRE(expected.size() == logits.size());
        for (size_t i = 0; i < expected.size(); ++i) {
            // Relative error, with the scale of the row's largest logit as the floor for values near zero.
            const double error = std::abs(double(logits[i]) - expected[i]) / std::max(1.0, std::abs(double(expected[i])));
            worst = std::max(worst, error);
        }
    }
    MESSAGE("worst relative logit error: " << worst);
    CHECK(worst < 1e-4);
}

TEST_CASE("stories260K: greedy generation reproduces both reference cases token for token") {
    const auto reference = nlohmann::json::parse(test::read_text(testdata("models/stories260K.greedy.json")));
    const Model model = Model::load(stories());
    for (const auto& c : reference.at("cases")) {
        CAPTURE(c.at("name").get<std::string>());
        const auto prompt = c.at("prompt_ids").get<std::vector<int32_t>>();
        const auto expected = c.at("generated_ids").get<std::vector<int32_t>>();
        Transformer transformer(model, f32_cache(256));
        Sampler greedy(0.0f, 0);
        GenerationOptions options;
        options.num_predict = static_cast<int64_t>(expected.size());
        options.end_tokens = {1};  // run.c stops on BOS
        std::vector<int32_t> generated;
        const GenerationResult result = generate(transformer, prompt, greedy, options, [&](int32_t t) {
            generated.push_back(t);
            return true;
        });
        CHECK(generated == expected);
        CHECK(result.reason == StopReason::Length);
        CHECK(result.prompt_tokens == static_cast<int64_t>(prompt.size()));
    }
}

TEST_CASE("generation: stops at the end of the context window without shift, and on cancel") {
    const Model model = Model::load(stories());
    Transformer transformer(model, f32_cache(8));
    Sampler greedy(0.0f, 0);
    GenerationOptions no_shift;
    no_shift.context_shift = false;
    int count = 0;
    const auto full = generate(transformer, std::vector<int32_t>{1, 403}, greedy, no_shift, [&](int32_t) { return ++count, true; });
    CHECK(full.reason == StopReason::ContextFull);
    CHECK(count == 7);  // positions 1..7 each yield one token, the last one without room to feed it back

    Transformer again(model, f32_cache(8));
    const auto cancelled = generate(again, std::vector<int32_t>{1}, greedy, {}, [](int32_t) { return false; });
    CHECK(cancelled.reason == StopReason::Cancelled);
    CHECK(cancelled.generated_tokens == 1);

    GenerationOptions none;
    none.num_predict = 0;
    const auto nothing = generate(again, std::vector<int32_t>{1}, greedy, none, [](int32_t) { return true; });
    CHECK(nothing.generated_tokens == 0);
    CHECK(nothing.reason == StopReason::Length);

    CHECK_THROWS_AS(generate(again, std::vector<int32_t>{}, greedy, {}, [](int32_t) { return true; }), std::invalid_argument);
    CHECK_THROWS_AS(again.forward(512, 0), std::out_of_range);
    CHECK_THROWS_AS(again.forward(1, 8), std::out_of_range);
}

TEST_CASE("generation: a prompt that does not fit keeps its first token and the last half window, and an unlimited answer stops after ten windows") {
    const Model model = Model::load(stories());
    const std::vector<int32_t> long_prompt = {1, 403, 407, 261, 378, 432, 300, 301, 302, 303, 304, 305};  // 12 tokens, window 8
    const std::vector<int32_t> fitted = fit_prompt(long_prompt, 8);
    CHECK(fitted == std::vector<int32_t>{1, 302, 303, 304, 305});
    CHECK(fit_prompt(std::vector<int32_t>{1, 2, 3}, 8) == std::vector<int32_t>{1, 2, 3});

    GenerationOptions three;
    three.num_predict = 3;
    std::vector<int32_t> from_long, from_fitted;
    Sampler greedy(0.0f, 0);
    Transformer a(model, f32_cache(8)), b(model, f32_cache(8));
    const auto result = generate(a, long_prompt, greedy, three, [&](int32_t t) { return from_long.push_back(t), true; });
    CHECK(result.prompt_tokens == 5);
    Sampler greedy2(0.0f, 0);
    generate(b, fitted, greedy2, three, [&](int32_t t) { return from_fitted.push_back(t), true; });
    CHECK(from_long == from_fitted);

    // No end tokens and no limit: with context shift the answer stops at ten windows.
    Transformer c(model, f32_cache(16));
    Sampler greedy3(0.0f, 0);
    const auto unlimited = generate(c, std::vector<int32_t>{1}, greedy3, {}, [](int32_t) { return true; });
    CHECK(unlimited.reason == StopReason::Length);
    CHECK(unlimited.generated_tokens == kMaxAnswerWindows * 16);
    CHECK(unlimited.prompt_eval_ns > 0);
    CHECK(unlimited.eval_ns > 0);
}

TEST_CASE("context shift: generation goes past the window, and shifted keys equal a fresh evaluation") {
    const Model model = Model::load(stories());
    // Through the generation loop: 40 tokens from a 16-position window.
    Transformer small(model, f32_cache(16));
    Sampler greedy(0.0f, 0);
    GenerationOptions options;
    options.num_predict = 40;
    int count = 0;
    const auto result = generate(small, std::vector<int32_t>{1, 403, 407}, greedy, options, [&](int32_t) { return ++count, true; });
    CHECK(result.reason == StopReason::Length);
    CHECK(count == 40);

    // Directly: feed 12 tokens and drop positions 2..5. Layer 0's keys depend only on each token and
    // its position, so after the shift they must equal a fresh evaluation of the kept tokens
    // (deeper layers legitimately remember the dropped tokens).
    const std::vector<int32_t> tokens = {1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315};
    Transformer shifted(model, f32_cache(16));
    shifted.forward(tokens, 0);
    shifted.shift_context(2, 4, 12);

    std::vector<int32_t> kept = {1, 403};
    kept.insert(kept.end(), tokens.begin() + 6, tokens.end());
    Transformer fresh(model, f32_cache(16));
    fresh.forward(kept, 0);
    const int64_t kv_dim = model.config.kv_dim();
    std::vector<float> a(kv_dim), b(kv_dim);
    double worst = 0;
    for (int64_t p = 0; p < static_cast<int64_t>(kept.size()); ++p) {
        shifted.kv_cache().load_key(0, p, a.data());
        fresh.kv_cache().load_key(0, p, b.data());
        for (int64_t i = 0; i < kv_dim; ++i) worst = std::max(worst, double(std::abs(a[i] - b[i])));
    }
    CHECK(worst < 1e-5);
    // The shift really moved something: position 2 now holds token 383's key, not token 407's.
    Transformer unshifted(model, f32_cache(16));
    unshifted.forward(tokens, 0);
    unshifted.kv_cache().load_key(0, 2, a.data());
    fresh.kv_cache().load_key(0, 2, b.data());
    double moved = 0;
    for (int64_t i = 0; i < kv_dim; ++i) moved = std::max(moved, double(std::abs(a[i] - b[i])));
    CHECK(moved > 1e-3);
}

TEST_CASE("sampling: the same seed gives the same tokens, temperature spreads them") {
    const Model model = Model::load(stories());
    auto run = [&](float temperature, uint64_t seed) {
        Transformer transformer(model, f32_cache(64));
        Sampler sampler(temperature, seed);
        GenerationOptions options;
        options.num_predict = 40;
        std::vector<int32_t> out;
        generate(transformer, std::vector<int32_t>{1}, sampler, options, [&](int32_t t) { return out.push_back(t), true; });
        return out;
    };
    CHECK(run(1.0f, 42) == run(1.0f, 42));
    CHECK(run(1.0f, 42) != run(1.0f, 43));
    CHECK(run(1.0f, 42) != run(0.0f, 42));
    CHECK_THROWS_AS(Sampler(-1.0f, 0), std::invalid_argument);
    CHECK_THROWS_AS(Sampler(NAN, 0), std::invalid_argument);
}

TEST_CASE("llama-2-tiny-random: F16 weights load and run") {
    auto file = std::make_shared<const gguf::File>(gguf::File::open(testdata("models/llama-2-tiny-random.gguf")));
    const Model model = Model::load(file);
    CHECK(model.config.n_embd == 8);
    CHECK(model.layers.at(0).wq.type == GgmlType::F16);
    Transformer transformer(model, f32_cache(16));
    const auto logits = transformer.forward(1, 0);
    REQUIRE(logits.size() == 32000);
    for (float v : logits) REQUIRE(std::isfinite(v));
}

TEST_CASE("model loading: missing tensors and wrong shapes are named") {
    const auto original = stories();
    // Rebuild stories260K without one tensor, and with another of the wrong shape.
    auto rebuild = [&](const std::string& drop, const std::string& reshape) {
        gguf::Writer w;
        for (const auto& [key, value] : original->metadata().entries()) w.set(key, value);
        for (const auto& t : original->tensors()) {
            if (t.name == drop) continue;
            std::vector<int64_t> shape = t.shape;
            if (t.name == reshape) std::swap(shape[0], shape[1]);
            w.add_tensor(t.name, t.type, shape, std::vector<uint8_t>(t.data, t.data + t.size_bytes));
        }
        return std::make_shared<const gguf::File>(gguf::File::parse(w.to_bytes()));
    };
    CHECK_THROWS_WITH(Model::load(rebuild("blk.3.ffn_up.weight", "")), doctest::Contains("blk.3.ffn_up.weight"));
    CHECK_THROWS_WITH(Model::load(rebuild("", "blk.0.attn_k.weight")), doctest::Contains("blk.0.attn_k.weight"));
    // Without output.weight the model ties the output head to the embedding and still matches.
    const Model tied = Model::load(rebuild("output.weight", ""));
    CHECK(tied.output.data == tied.token_embedding.data);
}

TEST_CASE("model loading: a tensor with an empty dimension is a format error, not a division by zero") {
    const auto original = stories();
    gguf::Writer w;
    for (const auto& [key, value] : original->metadata().entries()) w.set(key, value);
    for (const auto& t : original->tensors()) {
        if (t.name == "token_embd.weight") w.add_tensor(t.name, t.type, {t.shape[0], 0}, {});
        else w.add_tensor(t.name, t.type, t.shape, std::vector<uint8_t>(t.data, t.data + t.size_bytes));
    }
    const auto file = std::make_shared<const gguf::File>(gguf::File::parse(w.to_bytes()));
    CHECK_THROWS_WITH_AS(Model::load(file), doctest::Contains("token_embd.weight"), gguf::FormatError);
}

TEST_CASE("mixed precision: stories260K with only attn_q in Q8_0 runs, and close to the F32 file") {
    // Third-party "dynamic" quantizations mix types within a layer; the QKV group then needs two
    // activation formats at once (this file crashed the server once).
    const auto original = stories();
    gguf::Writer w;
    for (const auto& [key, value] : original->metadata().entries()) w.set(key, value);
    for (const auto& t : original->tensors()) {
        if (t.name.find("attn_q.weight") == std::string::npos) {
            w.add_tensor(t.name, t.type, t.shape, std::vector<uint8_t>(t.data, t.data + t.size_bytes));
            continue;
        }
        REQUIRE(t.type == GgmlType::F32);
        std::vector<float> values(t.size_bytes / 4);
        std::memcpy(values.data(), t.data, t.size_bytes);
        std::vector<uint8_t> q8(values.size() / 32 * 34);
        quant::quantize_row(GgmlType::Q8_0, values.data(), q8.data(), static_cast<int64_t>(values.size()));
        w.add_tensor(t.name, GgmlType::Q8_0, t.shape, std::move(q8));
    }
    const Model mixed = Model::load(std::make_shared<const gguf::File>(gguf::File::parse(w.to_bytes())));
    const Model plain = Model::load(original);
    CHECK(mixed.layers.at(0).wq.type == GgmlType::Q8_0);
    CHECK(mixed.layers.at(0).wk.type == GgmlType::F32);
    Transformer a(mixed, f32_cache(16)), b(plain, f32_cache(16));
    const int32_t tokens[] = {1, 403, 407, 261};
    for (int64_t pos = 0; pos < 4; ++pos) {
        const auto la = a.forward(tokens[pos], pos), lb = b.forward(tokens[pos], pos);
        double dot = 0, na = 0, nb = 0;
        for (size_t i = 0; i < la.size(); ++i) dot += double(la[i]) * lb[i], na += double(la[i]) * la[i], nb += double(lb[i]) * lb[i];
        CHECK(dot / std::sqrt(na * nb) > 0.999);
    }
}

TEST_SUITE_END();

}  // namespace test_llama_forward
