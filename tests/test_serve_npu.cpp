// rockllm serve on the NPU: the daemon meets the simulated RK3588 through the real driver path
// (ROCKLLM_NPU_SIMULATE preloads the simulated device node), places the model's matrices on its
// three cores, and falls back to the CPU when the NPU fails — at start-up or in the middle of a
// request (ROCKLLM_NPU_FAULT makes the simulated cores hang after some jobs).
#include <doctest/doctest.h>

#include <tuple>

#include "llm/synthetic_model.h"
#include "serve_fixture.h"

namespace test_serve_npu {

using nlohmann::json;
using rockllm::test::Daemon;
using rockllm::test::Env;
using rockllm::test::post;

namespace {

struct Reference {
    std::string text;  // the continuation of "Once upon a time"
    int n = 0;
};

Reference once_upon_a_time() {
    const auto reference = json::parse(rockllm::test::read_text(rockllm::test::testdata("models/stories260K.greedy.json")));
    const json& once = reference.at("cases").at(1);
    return {once.at("text").get<std::string>().substr(std::string("Once upon a time").size()), once.at("n_generated").get<int>()};
}

json greedy(httplib::Client& c, int n) {
    return post(c, "/api/generate",
                json{{"model", "stories"}, {"prompt", "Once upon a time"}, {"raw", true}, {"stream", false},
                     {"options", {{"temperature", 0}, {"num_predict", n}}}}.dump(),
                200);
}

int count(const std::string& haystack, const std::string& needle) {
    int n = 0;
    for (size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++n;
    return n;
}

}  // namespace

TEST_SUITE_BEGIN("npu-threads");

TEST_CASE("serve on the simulated NPU: fp16 reproduces the reference, the three cores work, 100 requests leave only the prompt cache in KV pages") {
    for (const char* driver : {"rocket", "rknpu"}) {
        CAPTURE(driver);
        Daemon daemon(Env{{"ROCKLLM_NPU_SIMULATE", driver}, {"ROCKLLM_NPU_DTYPE", "fp16"}});
        httplib::Client c = daemon.client();
        const Reference ref = once_upon_a_time();
        CHECK(greedy(c, ref.n).at("response") == ref.text);
        // That request held 256 positions: 4 pages of 64.
        const auto pages_allocated = [&] { return json::parse(c.Get("/api/npu/stats")->body).at("models").at(0).at("kv_pages_allocated"); };
        CHECK(pages_allocated() == 4);

        for (int i = 0; i < 100; ++i) greedy(c, 1 + i % 7);
        const json stats = json::parse(c.Get("/api/npu/stats")->body);
        CHECK(stats.at("backend") == "npu");
        CHECK(stats.at("type") == "fp16");
        REQUIRE(stats.at("cores").size() == 3);
        for (const auto& core : stats["cores"]) {
            CHECK(core.at("jobs").get<int64_t>() > 100);
            CHECK(core.at("queue_depth") == 0);
        }
        REQUIRE(stats.at("models").size() == 1);
        const json& model = stats["models"][0];
        CHECK(model.at("kv_pages_in_use") == 1);  // the slot's prompt cache: the last request, under 64 positions
        CHECK(model.at("kv_pages_allocated") == 4);  // the short requests reused the first request's pages: no growth
        CHECK(model.at("cpu_calls") == 0);
        CHECK(model.at("fell_back_to_cpu") == false);
        if (std::string(driver) == "rknpu") CHECK(model.at("kv_memory").get<std::string>().find("dma-buf heap") != std::string::npos);
        else CHECK(model.at("kv_memory") == "NPU driver buffers");  // Rocket cannot import dma-bufs

        const std::string metrics = c.Get("/metrics")->body;
        CHECK(metrics.find("rockllm_npu_enabled 1") != std::string::npos);
        CHECK(metrics.find("rockllm_npu_core_jobs_total{core=\"2\"}") != std::string::npos);
        CHECK(metrics.find("rockllm_model_kv_pages_in_use{model=\"stories:latest\"} 1") != std::string::npos);
        const std::string log = daemon.log();
        CHECK(log.find("backend NPU (") != std::string::npos);
        CHECK(log.find("npu: 21 of 21 matrix groups on 3 cores") != std::string::npos);
        CHECK(daemon.stop() == 0);
    }
}

TEST_CASE("serve on the simulated NPU: a BERT embedding model's products run on the cores, its embeddings as the CPU's") {
    rockllm::test::ScratchDir dir;
    const std::string path = dir.file("bert.gguf");
    rockllm::write_synthetic_model(rockllm::find_synthetic_shape("tiny-nomic-bert"), "F32", 5, path);
    const auto embedding = [&](Env env) {
        Daemon daemon(std::move(env));
        httplib::Client c = daemon.client();
        rockllm::test::create_from_gguf(c, "nomic", rockllm::test::read_text(path));
        const json answer = post(c, "/api/embed", R"({"model":"nomic","input":"the quick brown fox"})", 200);
        const json stats = json::parse(c.Get("/api/npu/stats")->body);
        std::string log = daemon.log();
        return std::tuple{answer.at("embeddings").at(0), stats, log};
    };
    const auto [on_cpu, cpu_stats, cpu_log] = embedding(Env{});
    const auto [on_npu, npu_stats, npu_log] = embedding(Env{{"ROCKLLM_NPU_SIMULATE", "rknpu"}, {"ROCKLLM_NPU_DTYPE", "fp16"}});
    REQUIRE(on_npu.size() == on_cpu.size());
    for (size_t i = 0; i < on_cpu.size(); ++i) CHECK(on_npu[i].get<double>() == doctest::Approx(on_cpu[i].get<double>()).epsilon(1e-3));
    REQUIRE(npu_stats.at("models").size() == 1);
    const json& model = npu_stats["models"][0];
    CHECK(model.at("npu_calls") == 8);  // one pass: four groups in each of two layers
    CHECK(model.at("cpu_calls") == 0);
    CHECK_FALSE(model.contains("kv_pages_in_use"));  // an encoder keeps no KV cache
    CHECK(npu_log.find("npu: 8 of 8 matrix groups on 3 cores") != std::string::npos);
}

TEST_CASE("serve on the simulated NPU: a job that times out mid-request is finished on the CPU, logged once, and serving goes on") {
    // The start-up self-test takes 18 jobs; the model's first request a few hundred.
    Daemon daemon(Env{{"ROCKLLM_NPU_SIMULATE", "rocket"}, {"ROCKLLM_NPU_FAULT", "hang-after:120"}});
    httplib::Client c = daemon.client();
    const json first = greedy(c, 40);
    CHECK(first.at("eval_count") == 40);
    CHECK(first.at("response").get<std::string>().find("there was a little girl") != std::string::npos);
    const json second = greedy(c, 20);
    CHECK(second.at("eval_count") == 20);
    const json stats = json::parse(c.Get("/api/npu/stats")->body);
    const json& model = stats.at("models").at(0);
    CHECK(model.at("fell_back_to_cpu") == true);
    CHECK(model.at("fallback_reason").get<std::string>().find("timed out") != std::string::npos);
    CHECK(model.at("cpu_calls").get<int64_t>() > 0);
    const std::string log = daemon.log();
    CHECK(count(log, "this model's matrix products run on the CPU from now on") == 1);
    CHECK(daemon.stop() == 0);
}

TEST_CASE("serve on the simulated NPU: an NPU that fails its start-up self-test is not used, and the daemon serves on the CPU") {
    Daemon daemon(Env{{"ROCKLLM_NPU_SIMULATE", "rknpu"}, {"ROCKLLM_NPU_FAULT", "hang-after:0"}});
    httplib::Client c = daemon.client();
    const Reference ref = once_upon_a_time();
    CHECK(greedy(c, ref.n).at("response") == ref.text);  // the CPU path is the reference path
    const json stats = json::parse(c.Get("/api/npu/stats")->body);
    CHECK(stats.at("backend") == "cpu");
    CHECK(stats.at("reason").get<std::string>().find("failed its self-test") != std::string::npos);
    CHECK(daemon.log().find("backend CPU (") != std::string::npos);
    CHECK(daemon.stop() == 0);
}

TEST_SUITE_END();

}  // namespace test_serve_npu
