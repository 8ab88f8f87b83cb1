// /api/chat, templated /api/generate and /v1/chat/completions: the prompt the template renders is
// what the model continues, checked against the reference greedy continuation of stories260K.
#include <doctest/doctest.h>

#include <regex>


#include "serve_fixture.h"

namespace test_serve_chat {

using nlohmann::json;
using rockllm::test::Daemon;
using rockllm::test::post;

namespace {

struct Reference {
    std::string continuation;  // after "Once upon a time"
    int tokens;
};

Reference once_upon_a_time() {
    const auto reference = json::parse(rockllm::test::read_text(rockllm::test::testdata("models/stories260K.greedy.json")));
    const json& once = reference.at("cases").at(1);
    return {once.at("text").get<std::string>().substr(std::string("Once upon a time").size()), once.at("n_generated").get<int>()};
}

}  // namespace

TEST_SUITE_BEGIN("serve");

TEST_CASE("serve: /api/chat and templated /api/generate render the model's template") {
    Daemon daemon({}, /*with_stories=*/false);
    httplib::Client c = daemon.client();
    const Reference ref = once_upon_a_time();
    const json greedy = {{"temperature", 0}, {"num_predict", ref.tokens}};

    // A chat template that concatenates the messages; the SYSTEM layer supplies the start of the story.
    rockllm::test::create_stories(c, "teller", {{"template", "{{- range .Messages }}{{ .Content }}{{ end }}"}, {"system", "Once upon"}});
    const json answer = post(c, "/api/chat",
                             json{{"model", "teller"}, {"messages", {{{"role", "user"}, {"content", " a time"}}}}, {"stream", false},
                                  {"options", greedy}}.dump(), 200);
    CHECK(answer.at("message").at("role") == "assistant");
    CHECK(answer.at("message").at("content") == ref.continuation);
    CHECK(answer.at("done") == true);
    CHECK(answer.at("done_reason") == "length");
    CHECK(answer.at("prompt_eval_count") == 5);  // BOS + "Once upon a time"
    CHECK(answer.at("eval_count") == ref.tokens);

    // Ollama's _debug_render_only: the prompt as rendered, nothing run.
    const json rendered = post(c, "/api/chat",
                               json{{"model", "teller"}, {"messages", {{{"role", "user"}, {"content", " a time"}}}}, {"stream", false},
                                    {"_debug_render_only", true}}.dump(), 200);
    CHECK(rendered.at("_debug_info").at("rendered_template") == "Once upon a time");
    CHECK(rendered.at("done") == false);
    CHECK_FALSE(rendered.contains("eval_count"));
    const json rendered_generate = post(c, "/api/generate", R"({"model":"teller","prompt":" a time","_debug_render_only":true})", 200);
    CHECK(rendered_generate.at("_debug_info").at("rendered_template") == "Once upon a time");
    CHECK(rendered_generate.at("response") == "");

    // A system message in the request replaces the model's.
    const json replaced = post(c, "/api/chat",
                               json{{"model", "teller"}, {"stream", false}, {"options", {{"temperature", 0}, {"num_predict", 3}}},
                                    {"messages", {{{"role", "system"}, {"content", "Once"}}, {{"role", "user"}, {"content", " upon a time"}}}}}.dump(), 200);
    CHECK(replaced.at("message").at("content") == ref.continuation.substr(0, replaced["message"]["content"].get<std::string>().size()));
    CHECK(replaced.at("prompt_eval_count") == 5);

    // Streamed: message pieces that add up, then the final chunk.
    auto streamed = c.Post("/api/chat",
                           json{{"model", "teller"}, {"messages", {{{"role", "user"}, {"content", " a time"}}}}, {"options", greedy}}.dump(),
                           "application/json");
    REQUIRE(streamed);
    CHECK(streamed->get_header_value("Content-Type") == "application/x-ndjson");
    std::string text;
    const auto lines = rockllm::test::ndjson_lines(streamed->body);
    REQUIRE(lines.size() > 2);
    for (size_t i = 0; i + 1 < lines.size(); ++i) {
        CHECK(lines[i].at("done") == false);
        text += lines[i].at("message").at("content").get<std::string>();
    }
    CHECK(text == ref.continuation);
    CHECK(lines.back().at("done") == true);
    CHECK(lines.back().at("message").at("content") == "");
    CHECK(lines.back().at("eval_count") == ref.tokens);

    // generate without raw goes through the same template: [system, user prompt].
    const json generated = post(c, "/api/generate",
                                json{{"model", "teller"}, {"prompt", " a time"}, {"stream", false}, {"options", greedy}}.dump(), 200);
    CHECK(generated.at("response") == ref.continuation);
    CHECK(generated.at("context").size() == static_cast<size_t>(5 + ref.tokens));  // prompt and answer tokens
    // ...and with the request's own template and system.
    const json overridden = post(c, "/api/generate",
                                 json{{"model", "teller"}, {"prompt", "upon a"}, {"system", "Once"}, {"stream", false},
                                      {"template", "{{ .System }} {{ .Prompt }} time"}, {"options", greedy}}.dump(), 200);
    CHECK(overridden.at("response") == ref.continuation);

    // Load and unload with empty messages.
    const json load = post(c, "/api/chat", R"({"model":"teller","messages":[]})", 200);
    CHECK(load.at("done_reason") == "load");
    CHECK(load.at("message") == json{{"role", "assistant"}, {"content", ""}});
    CHECK(post(c, "/api/chat", R"({"model":"teller","keep_alive":0})", 200).at("done_reason") == "unload");

    // Refusals with Ollama's messages.
    CHECK(post(c, "/api/chat", R"({"messages":[]})", 400).at("error") == "model is required");
    CHECK(post(c, "/api/chat", R"({"model":"nope","messages":[]})", 404).at("error") == "model 'nope' not found");
    const std::string hello = R"("messages":[{"role":"user","content":"hi"}])";
    CHECK(post(c, "/api/chat", R"({"model":"teller",)" + hello + R"(,"tools":[{"type":"function","function":{"name":"f"}}]})", 400)
              .at("error") == "registry.ollama.ai/library/teller:latest does not support tools");
    CHECK(post(c, "/api/chat", R"({"model":"teller",)" + hello + R"(,"think":true})", 400).at("error") == "\"teller\" does not support thinking");
    // The model is echoed as the request named it, in any case and with or without its tag.
    CHECK(post(c, "/api/chat", R"({"model":"Teller:Latest","stream":false,"options":{"num_predict":2},)" + hello + "}", 200).at("model") == "Teller:Latest");
    CHECK(post(c, "/api/chat", R"({"model":"teller",)" + hello + R"(,"think":"lots"})", 400).at("error").get<std::string>().rfind("invalid think value", 0) == 0);
    CHECK(post(c, "/api/chat", R"({"model":"teller",)" + hello + R"(,"format":{"type":"strin"}})", 400).at("error") ==
          "invalid format: unknown type \"strin\" (at /)");
    CHECK(post(c, "/api/chat", R"({"model":"teller",)" + hello + R"(,"format":42})", 400).at("error").get<std::string>().rfind("invalid format", 0) == 0);
    CHECK(post(c, "/api/chat", R"({"model":"teller","messages":"hi"})", 400).contains("error"));
    CHECK(post(c, "/api/chat", R"({"model":"teller","messages":[{"content":"no role"}]})", 400).contains("error"));
    CHECK(post(c, "/api/generate", R"({"model":"teller","prompt":"x","template":"{{ .Broken"})", 400).at("error").get<std::string>().find("template:") == 0);

    // A model without any template runs the prompt as it is ({{ .Prompt }}).
    rockllm::test::create_stories(c, "plain");
    const json plain = post(c, "/api/chat",
                            json{{"model", "plain"}, {"messages", {{{"role", "user"}, {"content", "Once upon a time"}}}}, {"stream", false},
                                 {"options", greedy}}.dump(), 200);
    CHECK(plain.at("message").at("content") == ref.continuation);
}

TEST_CASE("serve: /v1/chat/completions, plain and streamed") {
    Daemon daemon({}, /*with_stories=*/false);
    httplib::Client c = daemon.client();
    const Reference ref = once_upon_a_time();
    rockllm::test::create_stories(c, "teller", {{"template", "{{- range .Messages }}{{ .Content }}{{ end }}"}});
    const json messages = {{{"role", "system"}, {"content", "Once upon"}},
                           {{"role", "user"}, {"content", {{{"type", "text"}, {"text", " a time"}}}}}};  // content parts

    const json answer = post(c, "/v1/chat/completions",
                             json{{"model", "teller"}, {"messages", messages}, {"temperature", 0}, {"max_tokens", ref.tokens}}.dump(), 200);
    CHECK(answer.at("object") == "chat.completion");
    CHECK(answer.at("id").get<std::string>().rfind("chatcmpl-", 0) == 0);
    CHECK(answer.at("system_fingerprint") == "fp_ollama");
    CHECK(answer.at("choices")[0].at("message").at("content") == ref.continuation);
    CHECK(answer.at("choices")[0].at("finish_reason") == "length");
    CHECK(answer.at("usage").at("prompt_tokens") == 5);
    CHECK(answer.at("usage").at("completion_tokens") == ref.tokens);

    auto streamed = c.Post("/v1/chat/completions",
                           json{{"model", "teller"}, {"messages", messages}, {"temperature", 0}, {"max_tokens", ref.tokens},
                                {"stream", true}, {"stream_options", {{"include_usage", true}}}}.dump(),
                           "application/json");
    REQUIRE(streamed);
    CHECK(streamed->get_header_value("Content-Type") == "text/event-stream");
    std::vector<std::string> events;
    for (const auto& e : rockllm::test::sse_events(streamed->body)) events.push_back(e.data);
    REQUIRE(events.size() >= 4);
    CHECK(events.back() == "[DONE]");
    CHECK(json::parse(events[events.size() - 2]).at("usage").at("completion_tokens") == ref.tokens);
    const json finish = json::parse(events[events.size() - 3]);
    CHECK(finish.at("choices")[0].at("finish_reason") == "length");
    CHECK(finish.at("choices")[0].at("delta") == json::object());
    std::string text;
    const json first = json::parse(events[0]);
    for (size_t i = 0; i + 3 < events.size(); ++i) {
        const json e = json::parse(events[i]);
        CHECK(e.at("object") == "chat.completion.chunk");
        CHECK(e.at("id") == first.at("id"));
        CHECK(e.at("created") == first.at("created"));  // one timestamp for the whole stream
        // The role in the first delta only, as OpenAI's and Ollama's streams.
        if (i == 0) CHECK(e.at("choices")[0].at("delta").at("role") == "assistant");
        else CHECK_FALSE(e.at("choices")[0].at("delta").contains("role"));
        text += e.at("choices")[0].at("delta").at("content").get<std::string>();
    }
    CHECK(text == ref.continuation);

    const json empty = post(c, "/v1/chat/completions", R"({"model":"teller","messages":[]})", 400);
    CHECK(empty.at("error").at("message") == "[] is too short - 'messages'");
    CHECK(empty.at("error").at("type") == "invalid_request_error");
    CHECK(post(c, "/v1/chat/completions", R"({"model":"nope","messages":[{"role":"user","content":"x"}]})", 404)
              .at("error").at("type") == "not_found_error");
}

TEST_CASE("serve: Anthropic's /v1/messages, plain and streamed, and /api/status") {
    Daemon daemon({}, /*with_stories=*/false);
    httplib::Client c = daemon.client();
    const Reference ref = once_upon_a_time();
    rockllm::test::create_stories(c, "teller", {{"template", "{{- range .Messages }}{{ .Content }}{{ end }}"}});
    const json request = {{"model", "teller"}, {"max_tokens", ref.tokens}, {"temperature", 0}, {"system", "Once upon"},
                          {"messages", {{{"role", "user"}, {"content", {{{"type", "text"}, {"text", " a time"}}}}}}}};

    const json answer = post(c, "/v1/messages", request.dump(), 200);
    CHECK(answer.at("type") == "message");
    CHECK(answer.at("role") == "assistant");
    CHECK(answer.at("model") == "teller");
    CHECK(answer.at("id").get<std::string>().rfind("msg_", 0) == 0);
    CHECK(answer.at("content") == json::array({{{"type", "text"}, {"text", ref.continuation}}}));
    CHECK(answer.at("stop_reason") == "max_tokens");
    CHECK(answer.at("usage") == json{{"input_tokens", 5}, {"output_tokens", ref.tokens}});

    json stream_request = request;
    stream_request["stream"] = true;
    auto streamed = c.Post("/v1/messages", stream_request.dump(), "application/json");
    REQUIRE(streamed);
    CHECK(streamed->status == 200);
    CHECK(streamed->get_header_value("Content-Type") == "text/event-stream");
    std::vector<std::string> names;
    std::string text, stop_reason;
    for (const auto& event : rockllm::test::sse_events(streamed->body)) {
        names.push_back(event.name);
        const json e = json::parse(event.data);
        CHECK(e.at("type") == event.name);
        if (e["type"] == "content_block_delta") text += e.at("delta").at("text").get<std::string>();
        if (e["type"] == "message_delta") stop_reason = e.at("delta").at("stop_reason");
    }
    REQUIRE(names.size() >= 6);
    CHECK(names.front() == "message_start");
    CHECK(names[1] == "content_block_start");
    CHECK(names[names.size() - 3] == "content_block_stop");
    CHECK(names.back() == "message_stop");
    CHECK(text == ref.continuation);
    CHECK(stop_reason == "max_tokens");

    // Thinking, from a template that can: the first sentence is the thinking block.
    rockllm::test::create_stories(c, "thinker", {{"template", "{{- range .Messages }}{{ .Content }}{{ if .Thinking }},{{ .Thinking }}.{{ end }}{{ end }}"}});
    json think_request = {{"model", "thinker"}, {"max_tokens", 30}, {"temperature", 0},
                          {"thinking", {{"type", "enabled"}, {"budget_tokens", 1024}}},
                          {"messages", {{{"role", "user"}, {"content", "Once upon a time"}}}}};
    const json thought = post(c, "/v1/messages", think_request.dump(), 200);
    REQUIRE(thought.at("content").size() == 2);
    CHECK(thought["content"][0] == json{{"type", "thinking"}, {"thinking", ref.continuation.substr(1, ref.continuation.find('.') - 1)}});
    CHECK(thought["content"][1].at("text").get<std::string>().rfind("She loved", 0) == 0);
    // Asking a model that cannot think to think runs it without thinking, as Ollama does for Claude Code.
    think_request["model"] = "teller";
    CHECK(post(c, "/v1/messages", think_request.dump(), 200).at("content")[0].at("type") == "text");

    // Errors in Anthropic's shape.
    json no_max = request;
    no_max.erase("max_tokens");
    const json refused = post(c, "/v1/messages", no_max.dump(), 400);
    CHECK(refused.at("type") == "error");
    CHECK(refused.at("error") == json{{"type", "invalid_request_error"}, {"message", "max_tokens is required and must be positive"}});
    json unknown = request;
    unknown["model"] = "nope";
    CHECK(post(c, "/v1/messages", unknown.dump(), 404).at("error").at("type") == "not_found_error");
    CHECK(post(c, "/v1/messages", "{not json", 400).at("error").at("type") == "invalid_request_error");

    const auto status = c.Get("/api/status");
    REQUIRE(status);
    CHECK(json::parse(status->body) == json{{"cloud", {{"disabled", true}, {"source", "none"}}}});
}

TEST_CASE("serve: OpenAI's /v1/responses, plain and streamed") {
    Daemon daemon({}, /*with_stories=*/false);
    httplib::Client c = daemon.client();
    const Reference ref = once_upon_a_time();
    rockllm::test::create_stories(c, "teller", {{"template", "{{- range .Messages }}{{ .Content }}{{ end }}"}});
    const json request = {{"model", "teller"}, {"instructions", "Once upon"}, {"temperature", 0}, {"max_output_tokens", ref.tokens},
                          {"input", {{{"role", "user"}, {"content", {{{"type", "input_text"}, {"text", " a time"}}}}}}}};
    const json answer = post(c, "/v1/responses", request.dump(), 200);
    CHECK(answer.at("object") == "response");
    CHECK(answer.at("status") == "completed");
    CHECK(answer.at("model") == "teller");
    CHECK(answer.at("instructions") == "Once upon");
    REQUIRE(answer.at("output").size() == 1);
    CHECK(answer["output"][0].at("type") == "message");
    CHECK(answer["output"][0].at("content")[0].at("text") == ref.continuation);
    CHECK(answer.at("usage").at("input_tokens") == 5);
    CHECK(answer.at("usage").at("output_tokens") == ref.tokens);

    json stream_request = request;
    stream_request["stream"] = true;
    auto streamed = c.Post("/v1/responses", stream_request.dump(), "application/json");
    REQUIRE(streamed);
    CHECK(streamed->status == 200);
    CHECK(streamed->get_header_value("Content-Type") == "text/event-stream");
    std::string text;
    json completed;
    int sequence = 0;
    for (const auto& event : rockllm::test::sse_events(streamed->body)) {
        const json e = json::parse(event.data);
        CHECK(e.at("type") == event.name);
        CHECK(e.at("sequence_number") == sequence++);
        if (e["type"] == "response.output_text.delta") text += e.at("delta").get<std::string>();
        if (e["type"] == "response.completed") completed = e.at("response");
    }
    CHECK(text == ref.continuation);
    REQUIRE(completed.is_object());
    CHECK(completed.at("output")[0].at("content")[0].at("text") == ref.continuation);

    // A schema is followed: the answer is JSON of that shape.
    const json structured = post(c, "/v1/responses",
                                 json{{"model", "teller"}, {"input", "Once upon a time"}, {"max_output_tokens", 60},
                                      {"text", {{"format", {{"type", "json_schema"}, {"name", "n"},
                                                            {"schema", {{"type", "object"}, {"properties", {{"name", {{"type", "string"}, {"maxLength", 8}}}}},
                                                                        {"required", {"name"}}}}}}}}}.dump(), 200);
    const json value = json::parse(structured.at("output")[0].at("content")[0].at("text").get<std::string>());
    CHECK(value.at("name").is_string());

    const json refused = post(c, "/v1/responses", json{{"model", "teller"}, {"input", 5}}.dump(), 400);
    CHECK(refused.at("error").at("message") == "input must be a string or array");
    CHECK(refused.at("error").at("type") == "invalid_request_error");
    CHECK(post(c, "/v1/responses", json{{"model", "nope"}, {"input", "x"}}.dump(), 404).at("error").at("type") == "not_found_error");
}

TEST_CASE("serve: a conversation longer than the context loses its oldest messages, not the system or the last") {
    Daemon daemon(rockllm::test::Env{{"OLLAMA_CONTEXT_LENGTH", "64"}}, /*with_stories=*/false);
    httplib::Client c = daemon.client();
    const Reference ref = once_upon_a_time();
    rockllm::test::create_stories(c, "teller", {{"template", "{{- range .Messages }}{{ .Content }}{{ end }}"}});
    std::string long_text;
    for (int i = 0; i < 40; ++i) long_text += " the cat sat on the mat.";
    const json messages = {{{"role", "system"}, {"content", "Once"}},
                           {{"role", "user"}, {"content", long_text}},
                           {{"role", "assistant"}, {"content", long_text}},
                           {{"role", "user"}, {"content", " upon a time"}}};
    const json answer = post(c, "/api/chat",
                             json{{"model", "teller"}, {"messages", messages}, {"stream", false},
                                  {"options", {{"temperature", 0}, {"num_predict", 8}}}}.dump(), 200);
    CHECK(answer.at("prompt_eval_count") == 5);  // "Once" + " upon a time": both long turns dropped
    CHECK(ref.continuation.rfind(answer.at("message").at("content").get<std::string>(), 0) == 0);
    CHECK(answer.at("message").at("content").get<std::string>().size() > 10);
}

TEST_CASE("serve: thinking and tool-call markup are split out of the answer, streamed and not") {
    Daemon daemon({}, /*with_stories=*/false);
    httplib::Client c = daemon.client();
    const Reference ref = once_upon_a_time();  // ", there was a little girl named Lily. She loved ..."
    // A template whose thinking tags are "," and ".": the story's first sentence becomes the reasoning.
    rockllm::test::create_stories(c, "thinker", {{"template", "{{- range .Messages }}{{ .Content }}{{ if .Thinking }},{{ .Thinking }}.{{ end }}{{ end }}"}});
    const json request = {{"model", "thinker"}, {"messages", {{{"role", "user"}, {"content", "Once upon a time"}}}},
                          {"options", {{"temperature", 0}, {"num_predict", 30}}}};
    json plain = request;
    plain["stream"] = false;
    const json answer = post(c, "/api/chat", plain.dump(), 200);
    const size_t period = ref.continuation.find('.');
    CHECK(answer.at("message").at("thinking") == ref.continuation.substr(1, period - 1));  // thinking on by default
    const std::string content = answer.at("message").at("content");
    CHECK(content.rfind("She loved", 0) == 0);
    CHECK(ref.continuation.find(content) != std::string::npos);

    auto streamed = c.Post("/api/chat", request.dump(), "application/json");
    REQUIRE(streamed);
    std::string thinking, text;
    for (const json& line : rockllm::test::ndjson_lines(streamed->body)) {
        const json& m = line.at("message");
        thinking += m.value("thinking", "");
        text += m.value("content", "");
        CHECK(m.value("content", "").find('.') == std::string::npos);  // no tag in content... until the answer's own periods
        if (!text.empty()) break;
    }
    CHECK(thinking == answer["message"]["thinking"]);

    // The OpenAI layer names it "reasoning".
    const json openai = post(c, "/v1/chat/completions",
                             json{{"model", "thinker"}, {"messages", {{{"role", "user"}, {"content", "Once upon a time"}}}},
                                  {"temperature", 0}, {"max_tokens", 30}}.dump(), 200);
    CHECK(openai.at("choices")[0].at("message").at("reasoning") == answer["message"]["thinking"]);
    CHECK(openai.at("choices")[0].at("message").at("content") == content);

    json off = plain;
    off["think"] = false;
    CHECK(post(c, "/api/chat", off.dump(), 200).at("message").at("content").get<std::string>().rfind(", there was", 0) == 0);

    // /api/generate goes through the same template and splits the same way, streamed and not.
    const json generate = {{"model", "thinker"}, {"prompt", "Once upon a time"}, {"options", {{"temperature", 0}, {"num_predict", 30}}}};
    json generate_plain = generate;
    generate_plain["stream"] = false;
    const json generated = post(c, "/api/generate", generate_plain.dump(), 200);
    CHECK(generated.at("thinking") == answer["message"]["thinking"]);
    CHECK(generated.at("response") == content);
    auto generate_streamed = c.Post("/api/generate", generate.dump(), "application/json");
    REQUIRE(generate_streamed);
    std::string generate_thinking, generate_text;
    for (const json& line : rockllm::test::ndjson_lines(generate_streamed->body)) {
        generate_thinking += line.value("thinking", "");
        generate_text += line.value("response", "");
    }
    CHECK(generate_thinking == answer["message"]["thinking"]);
    CHECK(generate_text == content);
    generate_plain["think"] = false;
    const json unsplit = post(c, "/api/generate", generate_plain.dump(), 200);
    CHECK_FALSE(unsplit.contains("thinking"));
    CHECK(unsplit.at("response").get<std::string>().rfind(", there was", 0) == 0);

    // Reasoning of earlier turns is not fed back: a leading <think> block of an assistant message
    // before the last user message is dropped (the prompt is as long as without it); a later one stays.
    const auto prompt_tokens = [&](const json& messages) {
        const json r = post(c, "/api/chat",
                            json{{"model", "thinker"}, {"stream", false}, {"think", false}, {"messages", messages},
                                 {"options", {{"num_predict", 1}}}}.dump(), 200);
        return r.at("prompt_eval_count").get<int>();
    };
    const json user = {{"role", "user"}, {"content", "Once upon a time"}};
    const json again = {{"role", "user"}, {"content", "Lily"}};
    const json reasoned = {{"role", "assistant"}, {"content", "<think>she was sad and wanted to play</think>\n\nthere was a girl"}};
    const json bare = {{"role", "assistant"}, {"content", "there was a girl"}};
    CHECK(prompt_tokens({user, reasoned, again}) == prompt_tokens({user, bare, again}));
    CHECK(prompt_tokens({user, reasoned}) > prompt_tokens({user, bare}));

    // A template whose tool-call tag is "girl": what follows it is parsed for calls, never shown.
    rockllm::test::create_stories(c, "caller", {{"template", "{{- range .Messages }}{{ .Content }}{{ if .ToolCalls }}girl{}{{ end }}{{ end }}{{ if .Tools }}{{ end }}"}});
    json tools_request = {{"model", "caller"}, {"stream", false}, {"messages", {{{"role", "user"}, {"content", "Once upon a time"}}}},
                          {"tools", {{{"type", "function"}, {"function", {{"name", "f"}, {"parameters", json::object()}}}}}},
                          {"options", {{"temperature", 0}, {"num_predict", 30}}}};
    const std::string before_tag = ref.continuation.substr(0, ref.continuation.find("girl"));
    CHECK(post(c, "/api/chat", tools_request.dump(), 200).at("message").at("content") == before_tag);
}

TEST_CASE("serve: structured outputs through format and response_format") {
    Daemon daemon;
    httplib::Client c = daemon.client();
    const std::string schema = R"({"type":"object","properties":{"name":{"type":"string","maxLength":10},"age":{"type":"integer"},
        "pets":{"type":"array","items":{"enum":["cat","dog"]},"maxItems":2}},"required":["name","age","pets"]})";
    // Properties come in the schema's order (name, age, pets), not sorted.
    const auto check_answer = [](const std::string& text) {
        CAPTURE(text);
        json value;
        REQUIRE_NOTHROW(value = json::parse(text));
        REQUIRE(value.is_object());
        CHECK(value.at("name").is_string());
        CHECK(value.at("age").is_number_integer());
        CHECK(value.at("pets").size() <= 2);
        CHECK(value.size() == 3);
        CHECK(text.find("\"name\"") < text.find("\"age\""));
        CHECK(text.find("\"age\"") < text.find("\"pets\""));
    };
    for (int seed = 1; seed <= 3; ++seed) {
        const json answer = post(c, "/api/generate",
                                 R"({"model":"stories","prompt":"Once upon a time","stream":false,"format":)" + schema +
                                     R"(,"options":{"seed":)" + std::to_string(seed) + R"(,"num_predict":60}})", 200);
        check_answer(answer.at("response").get<std::string>());
        CHECK(answer.at("eval_count").get<int>() <= 60);
    }

    // What zod (.int(), .email()) and pydantic (conint) write: enforced, the answer within bounds.
    const std::string zod = R"({"type":"object","properties":{"age":{"type":"integer","minimum":18,"maximum":99},
        "id":{"type":"integer","minimum":-9007199254740991,"maximum":9007199254740991},"mail":{"type":"string","format":"email"},
        "code":{"type":"string","pattern":"^[A-Z]{3}-\\d{2}$"}},"required":["age","id","mail","code"],"additionalProperties":false,
        "$schema":"http://json-schema.org/draft-07/schema#"})";
    for (int seed = 1; seed <= 3; ++seed) {
        const json answer = post(c, "/api/generate",
                                 R"({"model":"stories","prompt":"Once upon a time","stream":false,"format":)" + zod +
                                     R"(,"options":{"seed":)" + std::to_string(seed) + R"(,"num_predict":200}})", 200);
        const std::string text = answer.at("response");
        CAPTURE(text);
        const json value = json::parse(text);
        CHECK(value.at("age").get<int>() >= 18);
        CHECK(value.at("age").get<int>() <= 99);
        CHECK(value.at("id").is_number_integer());
        const std::string mail = value.at("mail"), code = value.at("code");
        CHECK(mail.find('@') != std::string::npos);
        CHECK(std::regex_match(code, std::regex("[A-Z]{3}-[0-9]{2}")));
    }

    // Streamed chat with "json": the pieces add up to one JSON object.
    auto streamed = c.Post("/api/chat",
                           R"({"model":"stories","messages":[{"role":"user","content":"Lily"}],"format":"json","options":{"seed":7,"num_predict":40}})",
                           "application/json");
    REQUIRE(streamed);
    std::string text;
    for (const json& line : rockllm::test::ndjson_lines(streamed->body)) text += line.at("message").at("content").get<std::string>();
    CAPTURE(text);
    CHECK(json::parse(text).is_object());

    // OpenAI: response_format json_schema and json_object.
    const json completion = post(c, "/v1/chat/completions",
                                 R"({"model":"stories","messages":[{"role":"user","content":"Tom"}],"seed":3,"max_tokens":60,
                                     "response_format":{"type":"json_schema","json_schema":{"name":"person","schema":)" + schema + "}}}",
                                 200);
    check_answer(completion.at("choices")[0].at("message").at("content").get<std::string>());
    const json object = post(c, "/v1/chat/completions",
                             R"({"model":"stories","messages":[{"role":"user","content":"Tom"}],"seed":4,"max_tokens":30,
                                 "response_format":{"type":"json_object"}})", 200);
    CHECK(json::parse(object.at("choices")[0].at("message").at("content").get<std::string>()).is_object());
    CHECK(post(c, "/v1/chat/completions", R"({"model":"stories","messages":[{"role":"user","content":"x"}],"response_format":{"type":"yaml"}})", 400)
              .at("error").at("message").get<std::string>().find("invalid response_format type") == 0);

    // Too few tokens for any answer of the schema: the answer is cut off there, as Ollama's is.
    const json too_short = post(c, "/api/generate",
                                R"({"model":"stories","prompt":"x","stream":false,"format":)" + schema + R"(,"options":{"num_predict":5}})", 200);
    CHECK(too_short.at("done_reason") == "length");
    CHECK(too_short.at("eval_count") == 5);
    CHECK(too_short.at("response").get<std::string>().rfind("{", 0) == 0);  // the value's start, no space before it
}

TEST_CASE("serve: a model whose only template is the GGUF's Jinja chat template") {
    Daemon daemon({}, /*with_stories=*/false);
    httplib::Client c = daemon.client();
    const Reference ref = once_upon_a_time();
    const json greedy = {{"temperature", 0}, {"num_predict", ref.tokens}};
    // The template joins the contents and refuses a role it does not know, as real templates do.
    const std::string jinja =
        "{% for m in messages %}{% if m['role'] not in ['system', 'user', 'assistant'] %}"
        "{{ raise_exception('Unknown role: ' + m['role']) }}{% endif %}{{ m['content'] }}{% endfor %}"
        "{% if add_generation_prompt %}{{ '' }}{% endif %}";
    rockllm::test::create_from_gguf(c, "jinja", rockllm::test::stories_with_metadata({{"tokenizer.chat_template", jinja}}));
    const json answer = post(c, "/api/chat",
                             json{{"model", "jinja"}, {"stream", false}, {"options", greedy},
                                  {"messages", {{{"role", "system"}, {"content", "Once upon"}}, {{"role", "user"}, {"content", " a time"}}}}}.dump(),
                             200);
    CHECK(answer.at("message").at("content") == ref.continuation);
    CHECK(answer.at("prompt_eval_count") == 5);  // one BOS: the tokenizer's, the template's bos_token is empty
    const json refused = post(c, "/api/chat", R"({"model":"jinja","stream":false,"messages":[{"role":"critic","content":"x"}]})", 500);
    CHECK(refused.at("error") == "rendering the prompt: template error at line 1: Unknown role: critic");
    const json generated = post(c, "/api/generate",
                                json{{"model", "jinja"}, {"prompt", "Once upon a time"}, {"stream", false}, {"options", greedy}}.dump(), 200);
    CHECK(generated.at("response") == ref.continuation);

    // A Jinja template rockllm cannot parse: the chat is refused with the reason, raw generation works.
    rockllm::test::create_from_gguf(c, "broken", rockllm::test::stories_with_metadata({{"tokenizer.chat_template", "{% while x %}{% endwhile %}"}}));
    const json broken = post(c, "/api/chat", R"({"model":"broken","stream":false,"messages":[{"role":"user","content":"x"}]})", 501);
    CHECK(broken.at("error").get<std::string>().find("unsupported statement 'while'") != std::string::npos);
    CHECK(post(c, "/api/generate", R"({"model":"broken","prompt":"Once","raw":true,"stream":false,"options":{"num_predict":2}})", 200)
              .at("eval_count") == 2);
}

TEST_SUITE_END();

}  // namespace test_serve_chat
