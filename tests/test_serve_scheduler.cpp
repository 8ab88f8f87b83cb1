// The scheduler seen from outside: keep_alive and expiry in /api/ps, OLLAMA_MAX_LOADED_MODELS,
// the bounded queue (503), a disconnect freeing its slot, the memory limit.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "serve_fixture.h"

namespace test_serve_scheduler {

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

// Streams a long generation to `keep_reading`, which hangs up by returning false.
void stream_until(Daemon& daemon, int num_predict, const std::function<bool()>& keep_reading) {
    httplib::Client client = daemon.client();
    httplib::Request req;
    req.method = "POST";
    req.path = "/api/generate";
    req.body = long_generation(num_predict, true);
    req.set_header("Content-Type", "application/json");
    req.content_receiver = [&](const char*, size_t, uint64_t, uint64_t) { return keep_reading(); };
    client.send(req);
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

    // One request holds the slot (a stream the test ends); of five more, one waits and the others
    // find the queue full. Nothing here depends on how fast the model generates.
    std::atomic<bool> holding{false}, let_go{false};
    std::thread holder([&] {
        stream_until(daemon, 1000000, [&] {
            holding = true;
            return !let_go.load();
        });
    });
    while (!holding) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::atomic<int> ok{0}, busy{0}, other{0};
    std::string busy_body;
    std::mutex busy_mutex;
    std::vector<std::thread> clients;
    for (int i = 0; i < 5; ++i)
        clients.emplace_back([&] {
            httplib::Client cc = daemon.client();
            auto r = cc.Post("/api/generate", long_generation(5, false), "application/json");
            if (r && r->status == 200) ++ok;
            else if (r && r->status == 503) {
                ++busy;
                std::lock_guard lock(busy_mutex);
                busy_body = r->body;
            } else {
                ++other;
            }
        });
    for (int i = 0; i < 3000 && busy < 4; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    let_go = true;
    holder.join();
    for (auto& t : clients) t.join();
    CHECK(other == 0);
    CHECK(ok == 1);
    CHECK(busy == 4);
    CHECK(json::parse(busy_body).at("error") == "server busy, please try again.  maximum pending requests exceeded");

    // A streaming client reads three chunks and hangs up; generation stops and the slot is free.
    int chunks = 0;
    stream_until(daemon, 100000, [&] { return ++chunks < 3; });
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

TEST_CASE("serve: requests waiting for a model's slot are served first come, first served") {
    Daemon daemon(rockllm::test::Env{{"OLLAMA_NUM_PARALLEL", "1"}});
    httplib::Client c = daemon.client();
    post(c, "/api/generate", R"({"model":"stories"})", 200);  // loaded before the queue forms

    // A streaming request holds the slot until the test hangs it up; five more arrive 200 ms
    // apart meanwhile and wait for the slot.
    std::atomic<bool> let_go{false};
    std::thread holder([&] { stream_until(daemon, 1000000, [&] { return !let_go.load(); }); });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    // Each answer's created_at is stamped when its generation ends: with one slot, the order of
    // the stamps is the order the waiters were served in.
    std::vector<double> served_at(5, -1);
    std::vector<std::thread> waiters;
    for (int i = 0; i < 5; ++i) {
        waiters.emplace_back([&, i] {
            httplib::Client cc = daemon.client();
            cc.set_read_timeout(std::chrono::minutes(5));
            auto r = cc.Post("/api/generate", long_generation(3, false), "application/json");
            if (!r || r->status != 200) return;
            const std::string stamp = json::parse(r->body).at("created_at");  // ...THH:MM:SS.fffffffffZ
            const size_t t = stamp.find('T');
            served_at[size_t(i)] = std::stod(stamp.substr(t + 1, 2)) * 3600 + std::stod(stamp.substr(t + 4, 2)) * 60 + std::stod(stamp.substr(t + 7));
        });
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    let_go = true;
    holder.join();
    for (auto& t : waiters) t.join();
    for (int i = 0; i < 5; ++i) CHECK(served_at[size_t(i)] > 0);
    for (int i = 0; i + 1 < 5; ++i) CHECK_MESSAGE(served_at[size_t(i)] < served_at[size_t(i + 1)], "waiter ", i, " was served after waiter ", i + 1);
}

TEST_CASE("serve: a client that hangs up stops its answer that was not streamed, and leaves the queue when it was waiting") {
    Daemon daemon(rockllm::test::Env{{"OLLAMA_NUM_PARALLEL", "1"}});
    httplib::Client c = daemon.client();
    post(c, "/api/generate", R"({"model":"stories"})", 200);

    // stream:false, a million tokens, and a client that gives up after a second.
    {
        httplib::Client impatient = daemon.client();
        impatient.set_read_timeout(std::chrono::seconds(1));
        CHECK(!impatient.Post("/api/generate", long_generation(1000000, false), "application/json"));
    }
    const json after = post(c, "/api/generate", long_generation(5, false), 200);  // the slot is free again
    CHECK(after.at("eval_count") == 5);
    std::string log = daemon.log();
    const size_t at = log.find("/api/generate stories:latest: client went away");
    REQUIRE(at != std::string::npos);
    const size_t tokens_at = log.find("stopped after ", at);
    REQUIRE(tokens_at != std::string::npos);
    CHECK(std::stol(log.substr(tokens_at + 14)) < 1000000);

    // A waiter whose client gives up leaves the queue while the slot is still held.
    std::atomic<bool> let_go{false};
    std::thread holder([&] { stream_until(daemon, 1000000, [&] { return !let_go.load(); }); });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    {
        httplib::Client waiter = daemon.client();
        waiter.set_read_timeout(std::chrono::milliseconds(500));
        CHECK(!waiter.Post("/api/chat", R"({"model":"stories","messages":[{"role":"user","content":"hi"}],"stream":false})",
                           "application/json"));
    }
    for (int i = 0; i < 40 && daemon.log().find("went away while waiting for a slot") == std::string::npos; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    CHECK(daemon.log().find("POST /api/chat: the client went away while waiting for a slot") != std::string::npos);
    let_go = true;
    holder.join();
}

TEST_CASE("serve: a follow-up request reuses the slot's prompt cache and answers as without it") {
    Daemon daemon(rockllm::test::Env{{"OLLAMA_NUM_PARALLEL", "2"}});
    httplib::Client c = daemon.client();
    auto chat = [&](const json& messages) {
        return post(c, "/api/chat", json{{"model", "stories"}, {"messages", messages}, {"stream", false},
                                         {"options", {{"temperature", 0}, {"num_predict", 24}}}}.dump(), 200);
    };
    const json first_turn = json::array({{{"role", "user"}, {"content", "Once upon a time"}}});
    const json first = chat(first_turn);
    json follow_up = first_turn;
    follow_up.push_back({{"role", "assistant"}, {"content", first.at("message").at("content")}});
    follow_up.push_back({{"role", "user"}, {"content", "Lily went to the park"}});
    const json cached = chat(follow_up);
    // Another conversation takes the other slot (the empty one, not the one holding the first
    // conversation); the follow-up again, which its slot still has cached.
    chat(json::array({{{"role", "user"}, {"content", "A big dog"}}}));
    const auto cached_so_far = [&] { return json::parse(c.Get("/api/npu/stats")->body).at("models").at(0).at("prompt_tokens_cached").get<int>(); };
    const int before_again = cached_so_far();
    const json again = chat(follow_up);
    CHECK(again.at("message").at("content") == cached.at("message").at("content"));
    // The second time, all of the follow-up but its last token came from the cache of the slot
    // the other conversation did not take.
    const int follow_up_prompt = cached.at("prompt_eval_count");
    CHECK(cached_so_far() - before_again == follow_up_prompt - 1);
    const json stats = json::parse(c.Get("/api/npu/stats")->body).at("models").at(0);
    CHECK(stats.at("prompt_tokens_cached").get<int>() < stats.at("prompt_tokens").get<int>());
    // prompt_eval_count is the whole prompt, as Ollama counts it, cached or not.
    CHECK(cached.at("prompt_eval_count") == again.at("prompt_eval_count"));
    CHECK(cached.at("prompt_eval_count").get<int>() > first.at("prompt_eval_count").get<int>());

    // A fresh daemon, no cache: the same answer.
    Daemon cold;
    httplib::Client cc = cold.client();
    const json reference = post(cc, "/api/chat", json{{"model", "stories"}, {"messages", follow_up}, {"stream", false},
                                                      {"options", {{"temperature", 0}, {"num_predict", 24}}}}.dump(), 200);
    CHECK(reference.at("message").at("content") == cached.at("message").at("content"));
}

TEST_CASE("serve: a request takes the KV pages of a prefix a busy slot holds instead of computing them again") {
    Daemon daemon(rockllm::test::Env{{"OLLAMA_NUM_PARALLEL", "2"}});
    std::string story;
    for (int i = 0; i < 6; ++i) story += "Once upon a time, there was a little girl named Lily. She liked to play outside with her friends in the big park. ";
    const auto body = [](const std::string& prompt, int num_predict, bool stream) {
        return json{{"model", "stories"}, {"prompt", prompt}, {"raw", true}, {"stream", stream},
                    {"options", {{"temperature", 0}, {"num_predict", num_predict}, {"num_keep", -1}}}}.dump();
    };
    httplib::Client c = daemon.client();
    post(c, "/api/generate", R"({"model":"stories"})", 200);  // loaded
    const auto model_stats = [&] { return json::parse(c.Get("/api/npu/stats")->body).at("models").at(0); };

    // One slot is busy answering the story (num_keep -1: its context shifts keep the prompt).
    std::atomic<bool> streaming{false}, let_go{false};
    std::thread holder([&] {
        httplib::Client client = daemon.client();
        httplib::Request req;
        req.method = "POST";
        req.path = "/api/generate";
        req.body = body(story, 1000000, true);
        req.set_header("Content-Type", "application/json");
        req.content_receiver = [&](const char*, size_t, uint64_t, uint64_t) { return streaming = true, !let_go.load(); };
        client.send(req);
    });
    while (!streaming) std::this_thread::sleep_for(std::chrono::milliseconds(5));

    // The same story and more, in the other slot: the story's whole pages come from the busy one.
    const int cached_before = model_stats().at("prompt_tokens_cached");
    const json answer = post(c, "/api/generate", body(story + "Then", 12, false), 200);
    const json stats = model_stats();
    CHECK(stats.at("kv_pages_shared").get<int>() >= 2);
    CHECK(stats.at("prompt_tokens_cached").get<int>() - cached_before >= 128);
    let_go = true;
    holder.join();

    Daemon cold;
    httplib::Client cc = cold.client();
    CHECK(post(cc, "/api/generate", body(story + "Then", 12, false), 200).at("response") == answer.at("response"));
}

TEST_CASE("serve: parallel requests decode together in shared passes and answer as they do alone") {
    Daemon daemon(rockllm::test::Env{{"OLLAMA_NUM_PARALLEL", "4"}});
    const std::vector<std::string> prompts = {"Once upon a time", "Lily went to the park", "A big dog", "The sun was hot"};
    const auto body = [](const std::string& prompt, int seed) {
        return json{{"model", "stories"}, {"prompt", prompt}, {"raw", true}, {"stream", false},
                    {"options", {{"temperature", seed < 0 ? 0.0 : 0.8}, {"seed", std::max(seed, 0)}, {"num_predict", 200}}}}.dump();
    };
    httplib::Client c = daemon.client();
    const auto passes = [&] { return json::parse(c.Get("/api/npu/stats")->body).at("models").at(0).at("forward_passes").get<int64_t>(); };
    // Each client: a request that fills its slot's cache with something else, then the one compared.
    const auto client_requests = [&](size_t i) {
        httplib::Client client = daemon.client();
        const std::string reversed(prompts[i].rbegin(), prompts[i].rend());
        post(client, "/api/generate", body(reversed, -1), 200);
        return post(client, "/api/generate", body(prompts[i], i % 2 ? static_cast<int>(i) : -1), 200).at("response").get<std::string>();
    };
    post(c, "/api/generate", R"({"model":"stories"})", 200);  // loaded
    // Alone, one client after the other (greedy and seeded).
    std::vector<std::string> alone;
    const int64_t passes_start = passes();
    for (size_t i = 0; i < prompts.size(); ++i) alone.push_back(client_requests(i));
    const int64_t passes_alone = passes() - passes_start;
    // Together.
    std::vector<std::string> together(prompts.size());
    std::vector<std::thread> clients;
    for (size_t i = 0; i < prompts.size(); ++i) clients.emplace_back([&, i] { together[i] = client_requests(i); });
    for (auto& t : clients) t.join();
    for (size_t i = 0; i < prompts.size(); ++i) CHECK(together[i] == alone[i]);
    // The same requests in fewer passes: they shared them.
    CHECK(passes() - passes_start - passes_alone < passes_alone);
    CHECK(c.Get("/metrics")->body.find("rockllm_model_forward_passes{model=\"stories:latest\"}") != std::string::npos);
}

TEST_CASE("serve: a model that cannot fit into memory is refused with Ollama's message") {
    Daemon daemon(rockllm::test::Env{{"ROCKLLM_MAX_MEMORY", "1M"}});  // stories260K alone is 1.2 MB
    httplib::Client c = daemon.client();
    const std::string error = post(c, "/api/generate", R"({"model":"stories"})", 500).at("error");
    CHECK(error.rfind("model requires more system memory", 0) == 0);
    CHECK(ps(c).empty());
}

TEST_SUITE_END();

}  // namespace test_serve_scheduler
