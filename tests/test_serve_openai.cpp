// The OpenAI-compatible routes: models, completions (plain and SSE), embeddings, the error shape.
#include <doctest/doctest.h>

#include <cstring>

#include "serve_fixture.h"

namespace test_serve_openai {

using nlohmann::json;
using rockllm::test::Daemon;
using rockllm::test::post;

namespace {

std::vector<uint8_t> base64_decode(const std::string& text) {
    std::vector<uint8_t> out;
    uint32_t buffer = 0;
    int bits = 0;
    for (char c : text) {
        const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        const char* p = std::strchr(alphabet, c);
        if (c == '=' || !p) break;
        buffer = (buffer << 6) | static_cast<uint32_t>(p - alphabet);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<uint8_t>(buffer >> bits));
        }
    }
    return out;
}

}  // namespace

TEST_SUITE_BEGIN("serve");

TEST_CASE("serve: OpenAI-compatible /v1 routes") {
    Daemon daemon;
    httplib::Client c = daemon.client();

    const json models = json::parse(c.Get("/v1/models")->body);
    CHECK(models.at("object") == "list");
    REQUIRE(models.at("data").size() == 1);
    CHECK(models["data"][0].at("id") == "stories:latest");
    CHECK(models["data"][0].at("object") == "model");
    CHECK(models["data"][0].at("owned_by") == "library");
    CHECK(models["data"][0].at("created").get<int64_t>() > 1700000000);
    CHECK(json::parse(c.Get("/v1/models/stories")->body).at("id") == "stories:latest");
    auto missing = c.Get("/v1/models/nope");
    CHECK(missing->status == 404);
    const json error = json::parse(missing->body).at("error");
    CHECK(error.at("type") == "not_found_error");
    CHECK(error.at("message") == "model \"nope\" not found");
    CHECK(error.at("param").is_null());

    // Greedy completion: the reference continuation, with usage.
    const auto reference = json::parse(rockllm::test::read_text(rockllm::test::testdata("models/stories260K.greedy.json")));
    const json& once = reference.at("cases").at(1);
    const std::string expected = once.at("text").get<std::string>().substr(std::string("Once upon a time").size());
    const int n = once.at("n_generated").get<int>();
    const json completion = post(c, "/v1/completions",
                                 json{{"model", "stories"}, {"prompt", "Once upon a time"}, {"temperature", 0}, {"max_tokens", n}}.dump(), 200);
    CHECK(completion.at("object") == "text_completion");
    CHECK(completion.at("id").get<std::string>().rfind("cmpl-", 0) == 0);
    CHECK(completion.at("choices")[0].at("text") == expected);
    CHECK(completion.at("choices")[0].at("finish_reason") == "length");
    CHECK(completion.at("usage").at("completion_tokens") == n);
    CHECK(completion.at("usage").at("prompt_tokens") == 5);
    CHECK(completion.at("usage").at("total_tokens") == n + 5);
    // The newer name of the limit, which the openai SDK sends for chat.
    const json newer = post(c, "/v1/chat/completions",
                            json{{"model", "stories"}, {"messages", {{{"role", "user"}, {"content", "Once"}}}}, {"temperature", 0},
                                 {"max_completion_tokens", 3}}.dump(), 200);
    CHECK(newer.at("usage").at("completion_tokens") == 3);
    CHECK(newer.at("choices")[0].at("finish_reason") == "length");

    // Streamed: SSE events, a finish chunk, a usage chunk, then [DONE].
    auto streamed = c.Post("/v1/completions",
                           json{{"model", "stories"}, {"prompt", "Once upon a time"}, {"temperature", 0}, {"max_tokens", 20},
                                {"stream", true}, {"stream_options", {{"include_usage", true}}}, {"stop", "Lily"}}.dump(),
                           "application/json");
    REQUIRE(streamed);
    CHECK(streamed->status == 200);
    CHECK(streamed->get_header_value("Content-Type") == "text/event-stream");
    std::vector<std::string> events;
    for (const auto& e : rockllm::test::sse_events(streamed->body)) events.push_back(e.data);
    REQUIRE(events.size() >= 4);
    CHECK(events.back() == "[DONE]");
    const json usage_chunk = json::parse(events[events.size() - 2]);
    CHECK(usage_chunk.at("choices").empty());
    CHECK(usage_chunk.at("usage").at("prompt_tokens") == 5);
    const json finish = json::parse(events[events.size() - 3]);
    CHECK(finish.at("choices")[0].at("finish_reason") == "stop");  // the stop string
    std::string text;
    for (size_t i = 0; i + 3 < events.size(); ++i) {
        const json e = json::parse(events[i]);
        CHECK(e.at("choices")[0].at("finish_reason").is_null());
        text += e.at("choices")[0].at("text").get<std::string>();
    }
    CHECK(text == expected.substr(0, expected.find("Lily")));

    auto bad_prompt = c.Post("/v1/completions", R"({"model":"stories","prompt":["a","b"]})", "application/json");
    CHECK(bad_prompt->status == 400);
    CHECK(json::parse(bad_prompt->body).at("error").at("type") == "invalid_request_error");

    // Embeddings, as floats and as base64 of the same little-endian float32 values.
    const json floats = post(c, "/v1/embeddings", R"({"model":"stories","input":["Once upon a time","Lily"]})", 200);
    CHECK(floats.at("object") == "list");
    REQUIRE(floats.at("data").size() == 2);
    CHECK(floats["data"][1].at("index") == 1);
    CHECK(floats["data"][0].at("embedding").size() == 64);
    CHECK(floats.at("usage").at("prompt_tokens").get<int>() > 5);
    const json encoded = post(c, "/v1/embeddings", R"({"model":"stories","input":"Once upon a time","encoding_format":"base64"})", 200);
    const std::vector<uint8_t> bytes = base64_decode(encoded["data"][0].at("embedding").get<std::string>());
    REQUIRE(bytes.size() == 64 * sizeof(float));
    for (size_t i = 0; i < 64; ++i) {
        float v = 0;
        std::memcpy(&v, bytes.data() + i * sizeof(float), sizeof v);
        CHECK(v == doctest::Approx(floats["data"][0]["embedding"][i].get<double>()).epsilon(1e-6));
    }
    CHECK(post(c, "/v1/embeddings", R"({"model":"stories","input":"x","encoding_format":"hex"})", 400).at("error").at("type") ==
          "invalid_request_error");
    const json cut = post(c, "/v1/embeddings", R"({"model":"stories","input":"Once upon a time","dimensions":8})", 200);
    CHECK(cut["data"][0].at("embedding").size() == 8);
    CHECK(post(c, "/v1/embeddings", R"({"model":"stories","input":"x","dimensions":-3})", 400).at("error").at("message") ==
          "dimensions must be a non-negative integer");
}

TEST_SUITE_END();

}  // namespace test_serve_openai
