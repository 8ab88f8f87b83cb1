// Anthropic's Messages API translated onto the chat pipeline: requests as native messages and
// options, answers as Anthropic's message object and event stream (the shapes the Anthropic SDKs
// accumulate: every block started before its deltas and stopped before the next one starts).
#include <doctest/doctest.h>


#include "api/anthropic_messages.h"
#include "api/http_json.h"
#include "api/loaded_model.h"
#include "test_support.h"

namespace test_anthropic_messages {

using nlohmann::json;
using rockllm::AnthropicEventStream;
using rockllm::GenerationStats;
using rockllm::HttpError;
using rockllm::parse_anthropic_request;

TEST_SUITE_BEGIN("unit");

namespace {

// The events of a stream as (name, data) pairs; the name line and the data's "type" must agree.
std::vector<std::pair<std::string, json>> events_of(const std::string& text) {
    std::vector<std::pair<std::string, json>> out;
    for (const auto& [name, data_line] : rockllm::test::sse_events(text)) {
        const json data = json::parse(data_line);
        CHECK(data.at("type") == name);
        out.emplace_back(name, data);
    }
    return out;
}

int status_of(const json& body) {
    try {
        parse_anthropic_request(body);
    } catch (const HttpError& e) {
        return e.status;
    }
    return 200;
}

}  // namespace

TEST_CASE("anthropic: a request's system, blocks, tools and sampling fields become native ones") {
    const json body = json::parse(R"({
      "model": "stories", "max_tokens": 64, "temperature": 0.2, "top_k": 5, "stop_sequences": ["END"],
      "system": [{"type": "text", "text": "Be "}, {"type": "text", "text": "brief."}],
      "thinking": {"type": "enabled", "budget_tokens": 1024},
      "tools": [{"name": "weather", "description": "Weather of a city", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}],
      "messages": [
        {"role": "user", "content": "Weather in Oslo?"},
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "ask the tool", "signature": "x"},
                                          {"type": "text", "text": "Checking."},
                                          {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Oslo"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "-3 C"}]},
                                     {"type": "text", "text": "And tomorrow?"}]}
      ]})");
    const rockllm::AnthropicRequest r = parse_anthropic_request(body);
    CHECK(r.model == "stories");
    CHECK_FALSE(r.stream);
    REQUIRE(r.messages.size() == 5);
    CHECK(r.messages[0].role == "system");
    CHECK(r.messages[0].content == "Be brief.");
    CHECK(r.messages[1].content == "Weather in Oslo?");
    CHECK(r.messages[2].role == "assistant");
    CHECK(r.messages[2].thinking == "ask the tool");
    CHECK(r.messages[2].content == "Checking.");
    REQUIRE(r.messages[2].tool_calls.size() == 1);
    CHECK(r.messages[2].tool_calls[0]["id"] == "toolu_1");
    CHECK(r.messages[2].tool_calls[0]["function"]["name"] == "weather");
    CHECK(r.messages[2].tool_calls[0]["function"]["arguments"] == json{{"city", "Oslo"}});
    // A tool result goes before the user's text of the same message, as Ollama orders them.
    CHECK(r.messages[3].role == "tool");
    CHECK(r.messages[3].content == "-3 C");
    CHECK(r.messages[3].tool_call_id == "toolu_1");
    CHECK(r.messages[4].role == "user");
    CHECK(r.messages[4].content == "And tomorrow?");
    CHECK(r.options == json{{"num_predict", 64}, {"temperature", 0.2}, {"top_k", 5}, {"stop", {"END"}}});
    REQUIRE(r.tools.size() == 1);
    CHECK(r.tools[0]["type"] == "function");
    CHECK(r.tools[0]["function"]["name"] == "weather");
    CHECK(r.tools[0]["function"]["parameters"]["properties"]["city"]["type"] == "string");
    CHECK(r.think.is_set);
    CHECK(r.think.enabled);

    json effort = body;
    effort.erase("thinking");
    effort["output_config"] = {{"effort", "xhigh"}};
    CHECK(parse_anthropic_request(effort).think.level == "high");
    effort["thinking"] = {{"type", "disabled"}};
    CHECK_FALSE(parse_anthropic_request(effort).think.enabled);
    CHECK(parse_anthropic_request(effort).think.is_set);
}

TEST_CASE("anthropic: malformed requests are 400s with Ollama's texts") {
    const json ok = {{"model", "m"}, {"max_tokens", 8}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}};
    CHECK(status_of(ok) == 200);
    for (const char* field : {"model", "max_tokens", "messages"}) {
        json missing = ok;
        missing.erase(field);
        CAPTURE(field);
        CHECK(status_of(missing) == 400);
    }
    json zero = ok;
    zero["max_tokens"] = 0;
    try {
        parse_anthropic_request(zero);
        FAIL("accepted max_tokens 0");
    } catch (const HttpError& e) {
        CHECK(std::string(e.what()) == "max_tokens is required and must be positive");
    }
    json image = ok;
    image["messages"][0]["content"] = {{{"type", "image"}, {"source", {{"type", "base64"}, {"data", "AA=="}}}}};
    CHECK(status_of(image) == 400);
    json tool_use = ok;
    tool_use["messages"][0] = {{"role", "assistant"}, {"content", {{{"type", "tool_use"}, {"name", "f"}, {"input", json::object()}}}}};
    CHECK(status_of(tool_use) == 400);  // no id
    json stops = ok;
    stops["stop_sequences"] = "END";
    CHECK(status_of(stops) == 400);

    const json error = rockllm::anthropic_error(404, "model 'x' not found");
    CHECK(error["type"] == "error");
    CHECK(error["error"]["type"] == "not_found_error");
    CHECK(error["error"]["message"] == "model 'x' not found");
    CHECK(error["request_id"].get<std::string>().rfind("req_", 0) == 0);
    CHECK(rockllm::anthropic_error(400, "x")["error"]["type"] == "invalid_request_error");
    CHECK(rockllm::anthropic_error(503, "x")["error"]["type"] == "overloaded_error");
}

TEST_CASE("anthropic: the event stream opens, fills and closes each block in order") {
    AnthropicEventStream stream("msg_1", "stories", 12);
    GenerationStats stats;
    stats.done_reason = "stop";
    stats.prompt_eval_count = 12;
    stats.eval_count = 7;
    const json calls = json::array({{{"id", "call_a"}, {"function", {{"index", 0}, {"name", "weather"}, {"arguments", {{"city", "Oslo"}}}}}}});
    std::string text = stream.delta({"", "Let me"});  // one call a statement: the order of a + chain's operands is unspecified
    text += stream.delta({"", " think"});
    text += stream.delta({"It is", ""});
    text += stream.end({" cold.", ""}, calls, stats);
    const auto events = events_of(text);
    std::vector<std::string> names;
    for (const auto& [name, data] : events) names.push_back(name);
    CHECK(names == std::vector<std::string>{"message_start", "content_block_start", "content_block_delta", "content_block_delta",
                                            "content_block_stop", "content_block_start", "content_block_delta", "content_block_delta",
                                            "content_block_stop", "content_block_start", "content_block_delta", "content_block_stop",
                                            "message_delta", "message_stop"});
    const json& start = events[0].second["message"];
    CHECK(start["id"] == "msg_1");
    CHECK(start["usage"]["input_tokens"] == 12);
    CHECK(start["content"].empty());
    CHECK(events[1].second["content_block"] == json{{"type", "thinking"}, {"thinking", ""}});
    CHECK(events[1].second["index"] == 0);
    CHECK(events[3].second["delta"] == json{{"type", "thinking_delta"}, {"thinking", " think"}});
    CHECK(events[5].second["index"] == 1);
    CHECK(events[5].second["content_block"]["type"] == "text");
    CHECK(events[7].second["delta"] == json{{"type", "text_delta"}, {"text", " cold."}});
    CHECK(events[8].second["index"] == 1);
    const json& tool = events[9].second;
    CHECK(tool["index"] == 2);
    CHECK(tool["content_block"] == json{{"type", "tool_use"}, {"id", "call_a"}, {"name", "weather"}, {"input", json::object()}});
    CHECK(json::parse(events[10].second["delta"]["partial_json"].get<std::string>()) == json{{"city", "Oslo"}});
    CHECK(events[12].second["delta"]["stop_reason"] == "tool_use");
    CHECK(events[12].second["usage"] == json{{"input_tokens", 12}, {"output_tokens", 7}});

    // An answer with no text still starts and ends its message; a cut-off one says max_tokens.
    AnthropicEventStream empty("msg_2", "stories", 3);
    stats.done_reason = "length";
    const auto bare = events_of(empty.end({}, json::array(), stats));
    REQUIRE(bare.size() == 3);
    CHECK(bare[0].first == "message_start");
    CHECK(bare[1].second["delta"]["stop_reason"] == "max_tokens");
    CHECK(bare[2].first == "message_stop");
}

TEST_CASE("anthropic: a whole answer lists thinking, text and tool_use blocks") {
    GenerationStats stats;
    stats.done_reason = "stop";
    stats.prompt_eval_count = 5;
    stats.eval_count = 9;
    const json plain = rockllm::anthropic_message("msg_3", "stories", {"Hello.", ""}, json::array(), stats);
    CHECK(plain["type"] == "message");
    CHECK(plain["role"] == "assistant");
    CHECK(plain["content"] == json::array({{{"type", "text"}, {"text", "Hello."}}}));
    CHECK(plain["stop_reason"] == "end_turn");
    CHECK(plain["usage"] == json{{"input_tokens", 5}, {"output_tokens", 9}});
    const json calls = json::array({{{"id", ""}, {"function", {{"name", "f"}, {"arguments", {{"x", 1}}}}}}});
    const json called = rockllm::anthropic_message("msg_4", "stories", {"", "hmm"}, calls, stats);
    REQUIRE(called["content"].size() == 2);
    CHECK(called["content"][0] == json{{"type", "thinking"}, {"thinking", "hmm"}});
    CHECK(called["content"][1]["type"] == "tool_use");
    CHECK(called["content"][1]["id"].get<std::string>().rfind("toolu_", 0) == 0);  // an id even when the parser gave none
    CHECK(called["content"][1]["input"] == json{{"x", 1}});
    CHECK(called["stop_reason"] == "tool_use");
}

TEST_SUITE_END();

}  // namespace test_anthropic_messages
