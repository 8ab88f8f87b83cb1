// The scheduler seen from outside: keep_alive and expiry in /api/ps, OLLAMA_MAX_LOADED_MODELS,
// the bounded queue (503), a disconnect freeing its slot, the memory limit.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "serve_fixture.h"

using nlohmann::json;
using rockllm::test::Daemon;
using rockllm::test::post;

namespace {

json ps(httplib::Client& c) {
    auto r = c.Get("/api/ps");
    REQUIRE(r);
    REQUIRE(r->status == 200);
    return json::parse(r->body).at("models");
}

int year_of(const std::string& rfc3339) { return std::stoi(rfc3339.substr(0, 4)); }

// A long greedy generation of stories260K (context shift lets it run past the window).
std::string long_generation(int num_predict, bool stream) {
    return json{{"model", "stories"}, {"prompt", "Once upon a time"}, {"raw", true}, {"stream", stream},
                {"options", {{"temperature", 0}, {"num_predict", num_predict}}}}.dump();
}

}  // namespace

TEST_SUITE_BEGIN("serve");

TEST_CASE("serve: keep_alive decides how long a model stays loaded, /api/ps reports it") {
    Daemon daemon(rockllm::test::Env{{"OLLAMA_KEEP_ALIVE", "10m"}});
    httplib::Client c = daemon.client();
    CHECK(ps(c).empty());

    post(c, "/api/generate", R"({"model":"stories"})", 200);  // the default: OLLAMA_KEEP_ALIVE
    json loaded = ps(c);
    REQUIRE(loaded.size() == 1);
    CHECK(loaded[0].at("name") == "stories:latest");
    CHECK(loaded[0].at("model") == "stories:latest");
    CHECK(loaded[0].at("size").get<int64_t>() > 1185376);  // the weights and the KV cache
    CHECK(loaded[0].at("size_vram") == 0);
    CHECK(loaded[0].at("context_length") == 2048);  // OLLAMA_CONTEXT_LENGTH 4096, capped by the model's 2048
    CHECK(loaded[0].at("digest").get<std::string>().size() == 64);
    const std::string ten_minutes = loaded[0].at("expires_at");

    post(c, "/api/generate", R"({"model":"stories","keep_alive":-1})", 200);  // forever
    loaded = ps(c);
    REQUIRE(loaded.size() == 1);
    CHECK(year_of(loaded[0].at("expires_at")) > year_of(ten_minutes) + 200);

    // Bad values: Go's duration errors.
    CHECK(post(c, "/api/generate", R"({"model":"stories","keep_alive":"3600"})", 400).at("error") == "time: missing unit in duration \"3600\"");
    CHECK(post(c, "/api/generate", R"({"model":"stories","keep_alive":"soon"})", 400).at("error") == "time: invalid duration \"soon\"");

    // A short keep_alive after a request: loaded right after it, gone once it expires.
    post(c, "/api/generate", R"({"model":"stories","prompt":"Once","raw":true,"stream":false,"keep_alive":"1.5s","options":{"num_predict":2}})", 200);
    CHECK(ps(c).size() == 1);
    bool expired = false;
    for (int i = 0; i < 100 && !expired; ++i) {  // up to 10 s
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        expired = ps(c).empty();
    }
    CHECK(expired);

    // keep_alive 0 on a request unloads right after it.
    post(c, "/api/generate", R"({"model":"stories","prompt":"Once","raw":true,"stream":false,"keep_alive":0,"options":{"num_predict":2}})", 200);
    CHECK(ps(c).empty());
}

TEST_CASE("serve: OLLAMA_MAX_LOADED_MODELS unloads an idle model to load another") {
    Daemon daemon(rockllm::test::Env{{"OLLAMA_MAX_LOADED_MODELS", "1"}});
    httplib::Client c = daemon.client();
    CHECK(post(c, "/api/copy", R"({"source":"stories","destination":"other"})", 200).is_discarded());
    post(c, "/api/generate", R"({"model":"stories"})", 200);
    CHECK(ps(c).at(0).at("name") == "stories:latest");
    post(c, "/api/generate", R"({"model":"other"})", 200);
    const json loaded = ps(c);
    REQUIRE(loaded.size() == 1);
    CHECK(loaded[0].at("name") == "other:latest");
}

TEST_CASE("serve: a full queue answers 503, a client that disconnects frees its slot") {
    Daemon daemon(rockllm::test::Env{{"OLLAMA_NUM_PARALLEL", "1"}, {"OLLAMA_MAX_QUEUE", "1"}});
    httplib::Client c = daemon.client();
    post(c, "/api/generate", R"({"model":"stories"})", 200);  // loaded before the race starts

    // Six requests at once: one runs, one waits, the others find the queue full.
    std::atomic<int> ok{0}, busy{0}, other{0};
    std::string busy_body;
    std::mutex busy_mutex;
    std::vector<std::thread> clients;
    for (int i = 0; i < 6; ++i)
        clients.emplace_back([&] {
            httplib::Client cc = daemon.client();
            // 400 tokens keep the first request running well past the others' arrival (~0.4 s
            // in a release build, far longer under the sanitizers).
            auto r = cc.Post("/api/generate", long_generation(400, false), "application/json");
            if (r && r->status == 200) ++ok;
            else if (r && r->status == 503) {
                ++busy;
                std::lock_guard lock(busy_mutex);
                busy_body = r->body;
            } else {
                ++other;
            }
        });
    for (auto& t : clients) t.join();
    CHECK(other == 0);
    CHECK(ok >= 2);
    CHECK(busy >= 1);
    CHECK(json::parse(busy_body).at("error") == "server busy, please try again.  maximum pending requests exceeded");

    // A streaming client reads three chunks and hangs up; generation stops and the slot is free.
    int chunks = 0;
    {
        httplib::Client streaming = daemon.client();
        httplib::Request req;
        req.method = "POST";
        req.path = "/api/generate";
        req.body = long_generation(100000, true);
        req.set_header("Content-Type", "application/json");
        req.content_receiver = [&](const char*, size_t, uint64_t, uint64_t) { return ++chunks < 3; };
        streaming.send(req);
    }
    CHECK(chunks == 3);
    const json after = post(c, "/api/generate", long_generation(5, false), 200);  // not stuck behind it
    CHECK(after.at("eval_count") == 5);
    const std::string log = daemon.log();
    const size_t at = log.find("client went away");
    REQUIRE(at != std::string::npos);
    const size_t tokens_at = log.find("stopped after ", at);
    REQUIRE(tokens_at != std::string::npos);
    CHECK(std::stol(log.substr(tokens_at + 14)) < 100000);
}

TEST_CASE("serve: a model that cannot fit into memory is refused with Ollama's message") {
    Daemon daemon(rockllm::test::Env{{"ROCKLLM_MAX_MEMORY", "1M"}});  // stories260K alone is 1.2 MB
    httplib::Client c = daemon.client();
    const std::string error = post(c, "/api/generate", R"({"model":"stories"})", 500).at("error");
    CHECK(error.rfind("model requires more system memory", 0) == 0);
    CHECK(ps(c).empty());
}

TEST_SUITE_END();
