// rockllm serve driven over HTTP: the store as Ollama left it, generation, load/unload, shutdown.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <numeric>
#include <sstream>
#include <thread>

#include <sys/wait.h>

#include "serve_fixture.h"

namespace test_serve {

using nlohmann::json;

using rockllm::test::Daemon;
using rockllm::test::post;

TEST_SUITE_BEGIN("serve");

TEST_CASE("serve: liveness, version, model list, errors, generate (raw, streamed and not), load/unload, shutdown") {
    Daemon daemon;
    httplib::Client c = daemon.client();

    auto root = c.Get("/");
    REQUIRE(root);
    CHECK(root->status == 200);
    CHECK(root->body == "Ollama is running");

    auto version = c.Get("/api/version");
    REQUIRE(version);
    CHECK(json::parse(version->body).at("version") == "0.33.0");

    auto tags = json::parse(c.Get("/api/tags")->body);
    REQUIRE(tags.at("models").size() == 1);
    CHECK(tags["models"][0]["name"] == "stories:latest");
    CHECK(tags["models"][0]["model"] == "stories:latest");
    CHECK(tags["models"][0]["digest"].get<std::string>().size() == 64);
    CHECK(tags["models"][0]["size"].get<int64_t>() > 1185376);

    auto unknown_route = c.Get("/api/nothing-here");
    REQUIRE(unknown_route);
    CHECK(unknown_route->status == 404);
    CHECK(unknown_route->body == "404 page not found");

    CHECK(post(c, "/api/generate", "", 400).at("error") == "missing request body");
    CHECK(post(c, "/api/generate", "{not json", 400).contains("error"));
    CHECK(post(c, "/api/generate", R"({"model":"nope"})", 404).at("error") == "model 'nope' not found");
    CHECK(post(c, "/api/generate", R"({"model":"../etc/passwd"})", 400).at("error") == "invalid model name");
    CHECK(post(c, "/api/generate", R"({"model":"stories","prompt":"x","raw":true,"system":"s"})", 400)
              .at("error") == "raw mode does not support template, system, or context");
    CHECK(post(c, "/api/generate", R"({"model":"stories","prompt":"x","raw":"yes"})", 400).contains("error"));
    // Option types as Ollama words them; a fraction for an integer option is truncated, an unknown key ignored.
    CHECK(post(c, "/api/generate", R"({"model":"stories","prompt":"x","options":{"top_p":"high"}})", 400).at("error") ==
          "option \"top_p\" must be of type float32");
    CHECK(post(c, "/api/generate", R"({"model":"stories","prompt":"x","options":{"top_k":"40"}})", 400).at("error") ==
          "option \"top_k\" must be of type integer");
    CHECK(post(c, "/api/generate", R"({"model":"stories","prompt":"x","options":{"stop":"end"}})", 400).at("error") ==
          "option \"stop\" must be of type array");
    CHECK(post(c, "/api/generate", R"({"model":"stories","prompt":"x","options":{"stop":["end",1]}})", 400).at("error") ==
          "option \"stop\" must be of an array of strings");
    CHECK(post(c, "/api/chat", R"({"model":"stories","messages":[],"options":{"use_mmap":"yes"}})", 400).at("error") ==
          "option \"use_mmap\" must be of type boolean");
    CHECK(post(c, "/api/generate", R"({"model":"stories","prompt":"x","stream":false,"options":{"num_predict":2.9,"temprature":0}})", 200)
              .at("eval_count") == 2);

    const json load = post(c, "/api/generate", R"({"model":"stories"})", 200);
    CHECK(load.at("done") == true);
    CHECK(load.at("done_reason") == "load");
    CHECK(load.at("created_at").get<std::string>().back() == 'Z');

    // Greedy, raw: the reference continuation of "Once upon a time".
    const auto reference = json::parse(rockllm::test::read_text(rockllm::test::testdata("models/stories260K.greedy.json")));
    const json& once = reference.at("cases").at(1);
    const std::string expected = once.at("text").get<std::string>().substr(std::string("Once upon a time").size());
    const int n = once.at("n_generated").get<int>();
    const std::string request = json{{"model", "stories"}, {"prompt", "Once upon a time"}, {"raw", true}, {"stream", false},
                                     {"options", {{"temperature", 0}, {"num_predict", n}}}}.dump();
    const json answer = post(c, "/api/generate", request, 200);
    CHECK(answer.at("response") == expected);
    CHECK(answer.at("done") == true);
    CHECK(answer.at("done_reason") == "length");
    CHECK(answer.at("eval_count") == n);
    CHECK(answer.at("prompt_eval_count") == 5);
    CHECK(answer.at("total_duration").get<int64_t>() > 0);
    CHECK(answer.at("model") == "stories");  // as the request named it, as Ollama echoes it

    // Streamed: NDJSON lines whose pieces add up to the same text, then a final line with the counts.
    auto streamed = c.Post("/api/generate",
                           json{{"model", "stories"}, {"prompt", "Once upon a time"}, {"raw", true},
                                {"options", {{"temperature", 0}, {"num_predict", 40}, {"stop", {"Lily"}}}}}.dump(),
                           "application/json");
    REQUIRE(streamed);
    CHECK(streamed->status == 200);
    CHECK(streamed->get_header_value("Content-Type") == "application/x-ndjson");
    std::istringstream lines(streamed->body);
    std::string line, text;
    json last;
    int chunks = 0;
    while (std::getline(lines, line)) {
        last = json::parse(line);
        if (!last.at("done").get<bool>()) {
            text += last.at("response").get<std::string>();
            ++chunks;
        }
    }
    CHECK(chunks > 5);
    CHECK(text == expected.substr(0, expected.find("Lily")));  // stopped at the stop string
    CHECK(last.at("done") == true);
    CHECK(last.at("done_reason") == "stop");

    const json unload = post(c, "/api/generate", R"({"model":"stories","keep_alive":0})", 200);
    CHECK(unload.at("done_reason") == "unload");

    CHECK(daemon.stop() == 0);
}

TEST_CASE("serve: OLLAMA_HOST that cannot be parsed is a clear error") {
    rockllm::test::ScratchDir dir;
    const std::string command = "OLLAMA_HOST=127.0.0.1:99999 " + std::string(ROCKLLM_BINARY) + " serve 2>" + dir.file("err");
    const int status = std::system(command.c_str());
    CHECK(WEXITSTATUS(status) != 0);
    CHECK(rockllm::test::read_text(dir.file("err")).find("invalid port") != std::string::npos);
}

TEST_CASE("serve: DNS-rebinding Host check, CORS origins and preflight, HEAD, 405") {
    Daemon daemon(rockllm::test::Env{{"OLLAMA_ORIGINS", "https://webui.example.org, http://*.lan"}});
    httplib::Client c = daemon.client();
    auto get = [&](const std::string& path, const httplib::Headers& headers) {
        auto r = c.Get(path.c_str(), headers);
        REQUIRE(r);
        return std::move(r.value());
    };
    // Loopback listener: only names of this machine may appear in Host.
    CHECK(get("/api/version", {{"Host", "evil.example.com"}}).status == 403);
    CHECK(get("/api/version", {{"Host", "attacker.com:11434"}}).status == 403);
    for (const char* host : {"localhost:11434", "127.0.0.1", "[::1]:11434", "10.1.2.3", "192.168.1.20:11434", "rock5b.local", "x.localhost"}) {
        CAPTURE(host);
        CHECK(get("/api/version", {{"Host", host}}).status == 200);
    }
    // CORS: local and listed origins are echoed back; others refused.
    auto allowed = get("/api/tags", {{"Origin", "http://localhost:8080"}});
    CHECK(allowed.status == 200);
    CHECK(allowed.get_header_value("Access-Control-Allow-Origin") == "http://localhost:8080");
    CHECK(get("/api/tags", {{"Origin", "https://webui.example.org"}}).status == 200);
    CHECK(get("/api/tags", {{"Origin", "http://nas.lan"}}).get_header_value("Access-Control-Allow-Origin") == "http://nas.lan");
    CHECK(get("/api/tags", {{"Origin", "chrome-extension://abcdef"}}).status == 200);
    CHECK(get("/api/tags", {{"Origin", "https://evil.example.com"}}).status == 403);
    auto preflight = c.Options("/api/chat", {{"Origin", "http://127.0.0.1:3000"}, {"Access-Control-Request-Method", "POST"}});
    REQUIRE(preflight);
    CHECK(preflight->status == 204);
    CHECK(preflight->get_header_value("Access-Control-Allow-Headers").find("Content-Type") != std::string::npos);
    // HEAD on the GET routes; a known path with the wrong method is 405.
    auto head = c.Head("/");
    REQUIRE(head);
    CHECK(head->status == 200);
    CHECK(c.Head("/api/tags")->status == 200);
    auto wrong = c.Get("/api/chat");
    REQUIRE(wrong);
    CHECK(wrong->status == 405);
    CHECK(wrong->body == "405 method not allowed");
    // The routes whose paths are patterns: the blobs and a model's OpenAI page.
    CHECK(c.Delete("/api/blobs/sha256:0123")->status == 405);
    CHECK(c.Post("/v1/models/stories", "{}", "application/json")->status == 405);
    CHECK(c.Get("/api/blob")->status == 404);
}

TEST_CASE("serve: SIGTERM ends running streams with a last line and exits 0") {
    Daemon daemon;
    std::atomic<int> chunks{0};
    std::string received;
    std::thread streaming([&] {
        httplib::Client c = daemon.client();
        httplib::Request req;
        req.method = "POST";
        req.path = "/api/generate";
        req.body = json{{"model", "stories"}, {"prompt", "Once upon a time"}, {"raw", true},
                        {"options", {{"temperature", 0}, {"num_predict", 1000000}}}}.dump();
        req.set_header("Content-Type", "application/json");
        req.content_receiver = [&](const char* data, size_t size, uint64_t, uint64_t) {
            received.append(data, size);
            ++chunks;
            return true;
        };
        c.send(req);
    });
    for (int i = 0; i < 600 && chunks < 3; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    REQUIRE(chunks >= 3);
    CHECK(daemon.stop() == 0);
    streaming.join();
    const auto lines = rockllm::test::ndjson_lines(received);
    REQUIRE(!lines.empty());
    CHECK(lines.back() == json{{"error", "the server is shutting down"}});
}



TEST_CASE("serve: logprobs and top_logprobs on generate, chat and /v1 match the reference logits") {
    Daemon daemon;
    httplib::Client c = daemon.client();
    // llama2.c's logits after "Once upon a time" (pos 4): the first generated token's distribution.
    const json reference = json::parse(rockllm::test::read_text(rockllm::test::testdata("models/stories260K.logits.json")));
    const std::vector<double> logits = reference.at("rows").at(4).at("logits").get<std::vector<double>>();
    double max = logits[0], sum = 0;
    for (double x : logits) max = std::max(max, x);
    for (double x : logits) sum += std::exp(x - max);
    std::vector<int> order(logits.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int a, int b) { return logits[a] > logits[b]; });
    auto reference_logprob = [&](int id) { return logits[id] - max - std::log(sum); };

    const json answer = post(c, "/api/generate", R"({"model":"stories","prompt":"Once upon a time","raw":true,"stream":false,"logprobs":true,"top_logprobs":3,"options":{"temperature":0,"num_predict":4}})", 200);
    const json& lp = answer.at("logprobs");
    REQUIRE(lp.size() == 4);  // one per generated token
    std::string joined;
    for (const json& entry : lp) {
        joined += entry.at("token").get<std::string>();
        REQUIRE(entry.at("top_logprobs").size() == 3);
        // Greedy: the sampled token is the likeliest, and the alternatives come likeliest first.
        CHECK(entry.at("top_logprobs")[0].at("token") == entry.at("token"));
        CHECK(entry.at("top_logprobs")[0].at("logprob") == entry.at("logprob"));
        CHECK(entry.at("top_logprobs")[0].at("logprob").get<double>() >= entry.at("top_logprobs")[1].at("logprob").get<double>());
        CHECK(entry.at("logprob").get<double>() <= 0);
        std::string bytes;
        for (int b : entry.at("bytes")) bytes += static_cast<char>(b);
        CHECK(bytes == entry.at("token").get<std::string>());
    }
    CHECK(joined == answer.at("response").get<std::string>());
    // The first position against the reference: the three likeliest tokens and their log probabilities.
    for (int i = 0; i < 3; ++i) {
        CAPTURE(i);
        CHECK(lp[0].at("top_logprobs")[i].at("logprob").get<double>() == doctest::Approx(reference_logprob(order[i])).epsilon(1e-3));
    }

    // Without top_logprobs: the sampled token only; without logprobs: nothing.
    const json plain = post(c, "/api/generate", R"({"model":"stories","prompt":"Once upon a time","raw":true,"stream":false,"logprobs":true,"options":{"temperature":0,"num_predict":2}})", 200);
    CHECK(plain.at("logprobs").size() == 2);
    CHECK_FALSE(plain.at("logprobs")[0].contains("top_logprobs"));
    CHECK_FALSE(post(c, "/api/generate", R"({"model":"stories","prompt":"Once","stream":false,"options":{"num_predict":2}})", 200).contains("logprobs"));
    CHECK(post(c, "/api/generate", R"({"model":"stories","prompt":"x","top_logprobs":21})", 400).at("error") == "top_logprobs must be between 0 and 20");
    CHECK(post(c, "/api/chat", R"({"model":"stories","messages":[],"top_logprobs":-1})", 400).at("error") == "top_logprobs must be between 0 and 20");

    // Streamed chat: every generated token's entry arrives once, with the chunks.
    auto streamed = c.Post("/api/chat", R"({"model":"stories","messages":[{"role":"user","content":"Once upon a time"}],"logprobs":true,"options":{"temperature":0,"num_predict":5}})", "application/json");
    REQUIRE(streamed);
    size_t entries = 0;
    std::string content, tokens;
    for (const json& line : rockllm::test::ndjson_lines(streamed->body)) {
        content += line.at("message").at("content").get<std::string>();
        if (line.contains("logprobs"))
            for (const json& e : line["logprobs"]) tokens += e.at("token").get<std::string>(), ++entries;
    }
    CHECK(entries == 5);
    CHECK(tokens == content);

    // /v1: in choices[0].logprobs.content, as OpenAI's.
    const json v1 = post(c, "/v1/chat/completions", R"({"model":"stories","messages":[{"role":"user","content":"Once"}],"logprobs":true,"top_logprobs":2,"max_tokens":3,"temperature":0})", 200);
    const json& content_lp = v1.at("choices")[0].at("logprobs").at("content");
    CHECK(content_lp.size() == 3);
    CHECK(content_lp[0].at("top_logprobs").size() == 2);
    const json completion = post(c, "/v1/completions", R"({"model":"stories","prompt":"Once upon a time","logprobs":2,"max_tokens":2,"temperature":0})", 200);
    CHECK(completion.at("choices")[0].at("logprobs").at("content").size() == 2);
}

TEST_SUITE_END();

}  // namespace test_serve
