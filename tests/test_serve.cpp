// rockllm serve driven over HTTP: the store as Ollama left it, generation, load/unload, shutdown.
#include <doctest/doctest.h>

#include <atomic>
#include <sstream>
#include <thread>

#include <sys/wait.h>

#include "serve_fixture.h"

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
    CHECK(post(c, "/api/generate", R"({"model":"stories","prompt":"x","options":{"top_p":"high"}})", 400)
              .at("error").get<std::string>().find("top_p") != std::string::npos);

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

TEST_SUITE_END();
