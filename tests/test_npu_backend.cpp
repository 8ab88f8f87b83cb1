// The engine on the NPU: the forward pass's matrix products placed on three simulated cores
// (in process: one SimulatedDevice per core, the same library code a board runs above the driver).
// Reference outputs are stories260K's greedy generations (llama2.c) and the CPU path.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "llm/bert_encoder.h"
#include "llm/generation.h"
#include "llm/model.h"
#include "llm/synthetic_model.h"
#include "llm/transformer.h"
#include "npu/backend/accuracy.h"
#include "npu/backend/npu_model.h"
#include "npu/backend/weight_cache.h"
#include "test_support.h"

namespace test_npu_backend {

using namespace rockllm;
using namespace rockllm::npu;
using rockllm::test::testdata;

namespace {

std::unique_ptr<NpuCores> simulated_cores() {
    std::vector<std::unique_ptr<NpuDevice>> devices;
    for (int i = 0; i < 3; ++i) devices.push_back(std::make_unique<SimulatedDevice>());
    return std::make_unique<NpuCores>(std::move(devices), "simulated in process, 3 cores");
}

std::shared_ptr<const gguf::File> stories() {
    return std::make_shared<const gguf::File>(gguf::File::open(testdata("models/stories260K.gguf")));
}

// Greedy ids from "Once upon a time" (the reference prompt), up to n of them.
std::vector<int32_t> greedy(Transformer& t, const std::vector<int32_t>& prompt, size_t n) {
    SamplerOptions o;
    o.temperature = 0;
    Sampler sampler(o, t.n_ctx());
    GenerationOptions g;
    g.num_predict = static_cast<int64_t>(n);
    std::vector<int32_t> out;
    generate(t, prompt, sampler, g, [&](int32_t id) {
        out.push_back(id);
        return true;
    });
    return out;
}

struct Reference {
    std::vector<int32_t> prompt, ids;
};

Reference once_upon_a_time() {
    const auto j = nlohmann::json::parse(test::read_text(testdata("models/stories260K.greedy.json")));
    for (const auto& c : j.at("cases"))
        if (c.at("prompt") == "Once upon a time")
            return {c.at("prompt_ids").get<std::vector<int32_t>>(), c.at("generated_ids").get<std::vector<int32_t>>()};
    FAIL("the reference has no 'Once upon a time' case");
    return {};
}

TransformerOptions options(int64_t n_ctx) {
    TransformerOptions o;
    o.n_ctx = n_ctx;
    o.kv_type = GgmlType::F32;  // as the reference: fp32 throughout but for what the NPU does
    o.n_threads = 1;
    return o;
}

}  // namespace

TEST_SUITE_BEGIN("npu-threads");

TEST_CASE("npu backend: stories260K greedy on three simulated cores, fp16 exact and int8 within the stated agreement") {
    const Reference ref = once_upon_a_time();
    REQUIRE(ref.ids.size() >= 200);
    const Model model = Model::load(stories());
    auto cores = simulated_cores();
    ThreadPool pool(1);

    SUBCASE("fp16 reproduces the reference ids") {
        NpuModelOptions o;
        o.type = MatmulType::Fp16;
        NpuModel npu(model, *cores, o, pool);
        CHECK(npu.linears().size() == model.layers.size() * 4 + 1);
        Transformer t(model, options(512), npu.make_backend());
        const auto ids = greedy(t, ref.prompt, ref.ids.size());
        CHECK(ids == ref.ids);
        CHECK_FALSE(npu.failed());
        CHECK(npu.call_stats().cpu_calls == 0);
        CHECK(npu.call_stats().npu_calls > 0);
    }
    SUBCASE("int8 (W8A8) agrees with the reference for at least the first 40 ids") {
        NpuModelOptions o;
        o.type = MatmulType::Int8;
        NpuModel npu(model, *cores, o, pool);
        Transformer t(model, options(512), npu.make_backend());
        const auto ids = greedy(t, ref.prompt, ref.ids.size());
        size_t agree = 0;
        while (agree < ids.size() && ids[agree] == ref.ids[agree]) ++agree;
        MESSAGE("int8: the first " << agree << " of " << ref.ids.size() << " greedy ids agree with the fp32 reference");
        CHECK(agree >= 40);
        CHECK_FALSE(npu.failed());
    }
}

TEST_CASE("npu backend: every matrix group is split over the three cores without overlap, and all three cores work") {
    const Model model = Model::load(stories());
    auto cores = simulated_cores();
    ThreadPool pool(1);
    NpuModel npu(model, *cores, {}, pool);
    size_t total = 0;
    for (const auto& linear : npu.linears()) {
        CAPTURE(linear->name());
        int64_t next_row = 0;
        std::set<int> used_cores;
        for (const NpuLinear::Shard& s : linear->shards()) {
            CHECK(s.first_row == next_row);  // contiguous, in order: no row twice, none missing
            CHECK(s.rows > 0);
            CHECK(s.matmul->n() == s.rows);  // the shard's device holds only its own rows
            CHECK(used_cores.insert(s.core).second);
            next_row += s.rows;
        }
        CHECK(next_row == linear->rows());
        total += linear->device_bytes();
    }
    // The output head (512 rows) and the fused QKV (128 rows) are wide enough for three shards.
    CHECK(npu.linears().back()->shards().size() == 3);
    CHECK(total == npu.device_bytes());

    Transformer t(model, options(64), npu.make_backend());
    t.forward(std::vector<int32_t>{1, 403, 407, 261, 378}, 0);
    for (int i = 0; i < 3; ++i) t.forward(100 + i, 5 + i);
    const auto stats = cores->stats();
    REQUIRE(stats.size() == 3);
    for (const CoreStats& s : stats) {
        CHECK(s.jobs > 0);
        CHECK(s.busy_ns > 0);
        CHECK(s.projected_ns > 0);
        CHECK(s.queue_depth == 0);
    }
}

TEST_CASE("npu backend: converted weights are cached by digest, reused on the next load, and a damaged cache is converted again") {
    const Model model = Model::load(stories());
    auto cores = simulated_cores();
    ThreadPool pool(1);
    test::ScratchDir dir;
    NpuModelOptions o;
    o.cache_dir = dir.path();
    o.digest = "sha256-270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d";
    std::vector<std::string> log;
    o.log = [&](const std::string& line) { log.push_back(line); };

    const std::vector<int32_t> prompt{1, 403, 407, 261, 378};
    std::vector<float> first_logits;
    {
        NpuModel npu(model, *cores, o, pool);
        CHECK(npu.converted() == 21);
        CHECK(npu.from_cache() == 0);
        Transformer t(model, options(16), npu.make_backend());
        const auto logits = t.forward(prompt, 0);
        first_logits.assign(logits.begin(), logits.end());
    }
    const auto path = weight_cache_path(dir.path(), o.digest, MatmulType::Int8);
    REQUIRE(std::filesystem::exists(path));
    {
        NpuModel npu(model, *cores, o, pool);
        CHECK(npu.converted() == 0);
        CHECK(npu.from_cache() == 21);
        Transformer t(model, options(16), npu.make_backend());
        const auto logits = t.forward(prompt, 0);
        CHECK(std::vector<float>(logits.begin(), logits.end()) == first_logits);  // the same weights, bit for bit
    }
    SUBCASE("a flipped byte") {
        std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(4096);
        const char x = 0x5a;
        f.write(&x, 1);
    }
    SUBCASE("another model's digest") { o.digest = "sha256-" + std::string(64, '0'); }
    SUBCASE("a truncated file") { std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2); }
    log.clear();
    NpuModel npu(model, *cores, o, pool);
    CHECK(npu.converted() == 21);
    CHECK(npu.from_cache() == 0);
    bool explained = false;
    for (const auto& line : log) explained = explained || line.find("converting the weights") != std::string::npos;
    CHECK(explained);
}

TEST_CASE("kv pages: sequences take pages as they grow and give them all back, so 100 requests do not grow the pool") {
    const Model model = Model::load(stories());
    auto pool = make_kv_pool(model.config, 256, 2, GgmlType::F16);
    TransformerOptions o = options(256);
    o.kv_pool = pool;
    Transformer a(model, o), b(model, o);
    std::vector<int32_t> prompt(70, 300);
    prompt[0] = 1;
    for (int request = 0; request < 100; ++request) {
        Transformer& t = request % 2 ? a : b;
        t.forward(std::span(prompt).first(static_cast<size_t>(1 + request % 70)), 0);
        t.forward(42, 1 + request % 70);  // one more position: a second page for the longer prompts
        CHECK(pool->pages_in_use() >= 1);
        t.release_kv();
    }
    CHECK(pool->pages_in_use() == 0);
    CHECK(pool->pages_allocated() <= 2);  // the most one sequence held at a time (71 positions, 64 a page)
    // Two sequences at once hold their pages side by side, up to the pool's limit.
    a.forward(prompt, 0);
    b.forward(prompt, 0);
    CHECK(pool->pages_in_use() == 4);
    a.release_kv();
    b.release_kv();
    CHECK(pool->pages_in_use() == 0);
}

// Labelled npu, not npu-threads: it checks numbers, not threading, and took 100 s under TSan.
TEST_CASE("npu accuracy: per-layer cosine similarity and next-token agreement against the float CPU path, on synthetic models"
          * doctest::test_suite("npu")) {
    // Stated thresholds (docs/npu.md, "Accuracy"): int8 (W8A8) keeps every layer's hidden states
    // at cosine >= 0.995 of the float reference and agrees on >= 85 % of next tokens (random
    // weights give near-ties that real models do not); fp16 keeps >= 0.99999 and agrees on >= 97 %.
    test::ScratchDir dir;
    auto cores = simulated_cores();
    ThreadPool pool(1);
    // MIXED: a layer's matrices in different types, each converted from its own.
    for (const auto& [shape, quant] : std::vector<std::pair<std::string, std::string>>{
             {"tiny-llama", "F32"}, {"tiny-gemma3", "F32"}, {"tiny-qwen3moe", "F32"}, {"tiny-llama", "MIXED"}}) {
        CAPTURE(shape);
        CAPTURE(quant);
        const std::string path = dir.file(shape + "-" + quant + ".gguf");
        write_synthetic_model(find_synthetic_shape(shape), quant, 3, path);
        const Model model = Model::load(std::make_shared<const gguf::File>(gguf::File::open(path)));
        std::vector<int32_t> prompt;
        for (int i = 0; i < 24; ++i) prompt.push_back(3 + (i * 37) % 500);
        for (const MatmulType type : {MatmulType::Int8, MatmulType::Fp16}) {
            const bool int8 = type == MatmulType::Int8;
            CAPTURE(int8);
            NpuModelOptions o;
            o.type = type;
            NpuModel npu(model, *cores, o, pool);
            Transformer reference(model, options(96)), candidate(model, options(96), npu.make_backend());
            const AccuracyReport r = compare_backends(reference, candidate, prompt, 48);
            REQUIRE(r.layers.size() == static_cast<size_t>(model.config.n_layer));
            // Against a MIXED file the CPU path itself quantizes activations to 8 bits for the
            // quantized matrices, so fp16 is held to the int8 thresholds there (measured 0.99992).
            const bool loose = int8 || quant != "F32";
            for (const LayerAgreement& l : r.layers) CHECK(l.cosine_min >= (loose ? 0.995 : 0.99999));
            CHECK(r.logits_cosine >= (loose ? 0.998 : 0.99999));
            CHECK(r.positions == 49);
            CHECK(r.top1_agreements >= (loose ? 42 : 48));
            MESSAGE(shape << " " << quant << (int8 ? " int8" : " fp16") << ": last layer cosine min " << r.layers.back().cosine_min << ", logits "
                          << r.logits_cosine << ", next token " << r.top1_agreements << "/" << r.positions);
        }
    }
    // The comparison can fail: a candidate computing something else is caught.
    const std::string path = dir.file("tiny-llama-F32.gguf");
    const Model model = Model::load(std::make_shared<const gguf::File>(gguf::File::open(path)));
    const std::string other_path = dir.file("other.gguf");
    write_synthetic_model(find_synthetic_shape("tiny-llama"), "F32", 4, other_path);
    const Model other = Model::load(std::make_shared<const gguf::File>(gguf::File::open(other_path)));
    Transformer reference(model, options(96)), wrong(other, options(96));
    const AccuracyReport r = compare_backends(reference, wrong, std::vector<int32_t>{1, 50, 60, 70}, 8);
    CHECK(r.layers.back().cosine_min < 0.5);
}

TEST_CASE("npu backend: a BERT encoder's products on three simulated cores, its hidden states close to the CPU's") {
    // Measured: largest |NPU - CPU| over the largest |CPU| of every token's last hidden state is
    // 1e-3 in int8 and 4e-5 in fp16, where another text gives 0.75 to 1.1. (Cosines do not tell
    // much here: a CLS vector of random weights hardly changes with the text.)
    test::ScratchDir dir;
    auto cores = simulated_cores();
    ThreadPool pool(1);
    std::vector<int32_t> tokens = {101}, other = {101};
    for (int i = 0; i < 30; ++i) tokens.push_back(104 + (i * 37) % 400), other.push_back(104 + (i * 59) % 400);
    tokens.push_back(102), other.push_back(102);
    const auto relative_difference = [](const std::vector<float>& got, const std::vector<float>& expected) {
        double worst = 0, scale = 0;
        for (size_t i = 0; i < got.size(); ++i) {
            worst = std::max(worst, double(std::abs(got[i] - expected[i])));
            scale = std::max(scale, double(std::abs(expected[i])));
        }
        return worst / scale;
    };
    for (const std::string shape : {"tiny-bert", "tiny-nomic-bert"}) {
        CAPTURE(shape);
        const std::string path = dir.file(shape + ".gguf");
        write_synthetic_model(find_synthetic_shape(shape), "F32", 3, path);
        const BertModel model = BertModel::load(std::make_shared<const gguf::File>(gguf::File::open(path)));
        BertEncoder cpu(model, 64, std::make_shared<ThreadPool>(1));
        const std::vector<float> expected = cpu.hidden_states(tokens);
        CHECK(relative_difference(cpu.hidden_states(other), expected) > 0.3);  // the measure tells texts apart
        const std::vector<float> expected_embedding = cpu.embed(tokens);
        for (const MatmulType type : {MatmulType::Int8, MatmulType::Fp16}) {
            const bool int8 = type == MatmulType::Int8;
            CAPTURE(int8);
            NpuModelOptions o;
            o.type = type;
            NpuModel npu(npu_matrix_groups(model), "the rest", *cores, o, pool);
            CHECK(npu.linears().size() == 4 * model.layers.size());
            BertEncoder on_npu(model, 64, std::make_shared<ThreadPool>(1), npu.make_backend());
            const double hidden = relative_difference(on_npu.hidden_states(tokens), expected);
            const double embedding = relative_difference(on_npu.embed(tokens), expected_embedding);
            MESSAGE(shape << (int8 ? " int8" : " fp16") << ": hidden states " << hidden << ", embedding " << embedding);
            CHECK(hidden < (int8 ? 1e-2 : 5e-4));
            CHECK(embedding < (int8 ? 1e-2 : 5e-4));
            const NpuCallStats calls = npu.call_stats();
            CHECK(calls.npu_calls == 2 * 4 * static_cast<int64_t>(model.layers.size()));  // two passes, four groups a layer
            CHECK(calls.cpu_calls == 0);
        }
    }
}

TEST_SUITE_END();

}  // namespace test_npu_backend
