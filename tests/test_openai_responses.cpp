// OpenAI's Responses API translated onto the chat pipeline: input items as native messages, tools
// and options; answers as response objects and the numbered event stream the OpenAI SDKs read.
#include <doctest/doctest.h>


#include "api/http_json.h"
#include "api/loaded_model.h"
#include "test_support.h"
#include "api/openai_responses.h"

namespace test_openai_responses {

using nlohmann::json;
using nlohmann::ordered_json;
using rockllm::GenerationStats;
using rockllm::HttpError;
using rockllm::ResponsesEventStream;
using rockllm::parse_responses_request;

TEST_SUITE_BEGIN("unit");

namespace {

rockllm::ResponsesRequest parsed(const json& body) {
    return parse_responses_request(body, body.contains("text") ? ordered_json::parse(body["text"].dump()) : ordered_json());
}

std::string refusal(const json& body) {
    try {
        parsed(body);
    } catch (const HttpError& e) {
        CHECK(e.status == 400);
        return e.what();
    }
    return "";
}

// The events of a stream; the event line and the data's "type" agree, sequence numbers count from 0.
std::vector<json> events_of(const std::string& text) {
    std::vector<json> out;
    for (const auto& [name, data_line] : rockllm::test::sse_events(text)) {
        json data = json::parse(data_line);
        CHECK(data.at("type") == name);
        CHECK(data.at("sequence_number") == static_cast<int>(out.size()));
        out.push_back(std::move(data));
    }
    return out;
}

}  // namespace

TEST_CASE("responses: input items become the conversation Ollama builds from them") {
    const json body = json::parse(R"({
      "model": "m", "instructions": "Be brief.", "max_output_tokens": 50, "top_p": 0.9,
      "reasoning": {"effort": "xhigh"},
      "tools": [{"type": "function", "name": "weather", "description": "d", "parameters": {"type": "object"}},
                {"type": "namespace", "name": "files", "tools": [{"type": "function", "name": "read", "parameters": null}]}],
      "input": [
        {"role": "developer", "content": "Use tools."},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Weather in "}, {"type": "input_text", "text": "Oslo?"}]},
        {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "call the tool"},
        {"type": "function_call", "call_id": "call_1", "name": "weather", "arguments": "{\"city\":\"Oslo\"}"},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Checking."}]},
        {"type": "function_call_output", "call_id": "call_1", "output": "-3 C"}
      ]})");
    const rockllm::ResponsesRequest r = parsed(body);
    REQUIRE(r.messages.size() == 5);
    CHECK(r.messages[0].role == "system");
    CHECK(r.messages[0].content == "Be brief.");
    CHECK(r.messages[1].role == "system");  // developer
    CHECK(r.messages[2].content == "Weather in Oslo?");
    const rockllm::ChatMessage& call = r.messages[3];
    CHECK(call.role == "assistant");
    CHECK(call.thinking == "call the tool");
    CHECK(call.content == "Checking.");  // replayed between the call and its output: one message
    REQUIRE(call.tool_calls.size() == 1);
    CHECK(call.tool_calls[0]["id"] == "call_1");
    CHECK(call.tool_calls[0]["function"]["arguments"] == json{{"city", "Oslo"}});
    CHECK(r.messages[4].role == "tool");
    CHECK(r.messages[4].content == "-3 C");
    CHECK(r.messages[4].tool_call_id == "call_1");
    CHECK(r.messages[4].tool_name == "weather");
    CHECK(r.options == json{{"temperature", 1.0}, {"top_p", 0.9}, {"num_predict", 50}});
    REQUIRE(r.tools.size() == 2);
    CHECK(r.tools[0]["function"]["name"] == "weather");
    CHECK(r.tools[1]["function"]["name"] == "files.read");
    CHECK(r.tools[1]["function"]["parameters"] == json::object());
    CHECK(r.think.enabled);
    CHECK(r.think.level == "max");
    CHECK(r.echo["instructions"] == "Be brief.");
    CHECK(r.echo["max_output_tokens"] == 50);
    CHECK(r.echo["reasoning"]["effort"] == "xhigh");
    CHECK(r.echo["text"] == json{{"format", {{"type", "text"}}}});

    const rockllm::ResponsesRequest plain = parsed({{"model", "m"}, {"input", "Hi"}, {"temperature", 0}});
    REQUIRE(plain.messages.size() == 1);
    CHECK(plain.messages[0].role == "user");
    CHECK(plain.options == json{{"temperature", 0}});
    CHECK(plain.echo["top_p"] == 1.0);
    CHECK(plain.echo["instructions"].is_null());

    // A schema keeps its properties' written order; json_object is any JSON.
    const std::string schema_text = R"({"model":"m","input":"x","text":{"format":{"type":"json_schema","name":"s","schema":{"type":"object","properties":{"b":{"type":"string"},"a":{"type":"string"}}}}}})";
    const rockllm::ResponsesRequest schema = parse_responses_request(json::parse(schema_text), ordered_json::parse(schema_text)["text"]);
    CHECK(schema.format["properties"].begin().key() == "b");
    CHECK(parsed({{"model", "m"}, {"input", "x"}, {"text", {{"format", {{"type", "json_object"}}}}}}).format == "json");
    CHECK(parsed({{"model", "m"}, {"input", "x"}, {"text", {{"format", {{"type", "text"}}}}}}).format.is_null());
}

TEST_CASE("responses: malformed requests are 400s naming what is wrong") {
    CHECK(refusal({{"model", "m"}, {"input", 5}}) == "input must be a string or array");
    CHECK(refusal({{"model", "m"}, {"input", {{{"content", "x"}}}}}).find("missing required 'type'") != std::string::npos);
    CHECK(refusal({{"model", "m"}, {"input", {{{"type", "computer_call"}}}}}).find("unknown input item type: \"computer_call\"") != std::string::npos);
    CHECK(refusal({{"model", "m"}, {"input", {{{"role", "user"}, {"content", {{{"type", "input_file"}}}}}}}}) ==
          "file inputs are not currently supported");
    CHECK(refusal({{"model", "m"}, {"input", {{{"type", "function_call"}, {"call_id", "c"}, {"name", "f"}, {"arguments", "{oops"}}}}})
              .find("failed to parse function call arguments") == 0);
    CHECK(refusal({{"model", "m"}, {"input", "x"}, {"reasoning", {{"effort", "extreme"}}}}).find("invalid reasoning value") == 0);
    CHECK(refusal({{"model", "m"}, {"input", "x"}, {"tools", {{{"type", "web_search"}}}}}).find("not supported") != std::string::npos);
    CHECK(refusal({{"model", "m"}, {"input", "x"}, {"text", {{"format", {{"type", "yaml"}}}}}}).find("invalid text.format type") == 0);
}

TEST_CASE("responses: the event stream adds, fills and finishes each output item, numbered") {
    const rockllm::ResponsesRequest request = parsed({{"model", "m"}, {"input", "x"}});
    ResponsesEventStream stream(request, "resp_42");
    GenerationStats stats;
    stats.done_reason = "stop";
    stats.prompt_eval_count = 4;
    stats.eval_count = 6;
    const json calls = json::array({{{"id", "call_a"}, {"function", {{"name", "weather"}, {"arguments", {{"city", "Oslo"}}}}}}});
    std::string text = stream.delta({"", "hmm"});
    text += stream.delta({"It is", ""});
    text += stream.end({" cold.", ""}, calls, stats);
    const std::vector<json> events = events_of(text);
    std::vector<std::string> types;
    for (const json& e : events) types.push_back(e["type"]);
    CHECK(types == std::vector<std::string>{
                       "response.created", "response.in_progress", "response.output_item.added", "response.reasoning_summary_text.delta",
                       "response.reasoning_summary_text.done", "response.output_item.done", "response.output_item.added",
                       "response.content_part.added", "response.output_text.delta", "response.output_text.delta",
                       "response.output_text.done", "response.content_part.done", "response.output_item.done",
                       "response.output_item.added", "response.function_call_arguments.delta", "response.function_call_arguments.done",
                       "response.output_item.done", "response.completed"});
    CHECK(events[0]["response"]["status"] == "in_progress");
    CHECK(events[0]["response"]["id"] == "resp_42");
    CHECK(events[2]["output_index"] == 0);
    CHECK(events[6]["output_index"] == 1);
    CHECK(events[10]["text"] == "It is cold.");
    CHECK(events[13]["output_index"] == 2);
    CHECK(events[13]["item"]["arguments"] == "");
    CHECK(json::parse(events[15]["arguments"].get<std::string>()) == json{{"city", "Oslo"}});
    const json& done = events.back()["response"];
    CHECK(done["status"] == "completed");
    REQUIRE(done["output"].size() == 3);
    CHECK(done["output"][0]["type"] == "reasoning");
    CHECK(done["output"][0]["summary"][0]["text"] == "hmm");
    CHECK(done["output"][1]["content"][0]["text"] == "It is cold.");
    CHECK(done["output"][2]["call_id"] == "call_a");
    CHECK(done["usage"]["total_tokens"] == 10);
    // Items are named once: the id an item is added under is the id it finishes with.
    CHECK(events[2]["item"]["id"] == events[5]["item"]["id"]);
    CHECK(events[6]["item"]["id"] == events[12]["item"]["id"]);

    ResponsesEventStream failing(request, "resp_43");
    const std::vector<json> failed = events_of(failing.error("the server is shutting down"));
    REQUIRE(failed.size() == 3);
    CHECK(failed[2]["type"] == "response.failed");
    CHECK(failed[2]["response"]["error"]["message"] == "the server is shutting down");
}

TEST_CASE("responses: a whole answer lists reasoning, message and function calls") {
    const rockllm::ResponsesRequest request = parsed({{"model", "m"}, {"input", "x"}, {"max_output_tokens", 9}});
    GenerationStats stats;
    stats.done_reason = "length";
    stats.prompt_eval_count = 3;
    stats.eval_count = 9;
    const json answer = rockllm::responses_answer(request, "resp_7", {"Hello", "think"}, json::array(), stats);
    CHECK(answer["object"] == "response");
    CHECK(answer["status"] == "completed");
    CHECK(answer["model"] == "m");
    CHECK(answer["max_output_tokens"] == 9);
    REQUIRE(answer["output"].size() == 2);
    CHECK(answer["output"][0]["type"] == "reasoning");
    CHECK(answer["output"][1]["content"][0] == json{{"type", "output_text"}, {"text", "Hello"}, {"annotations", json::array()}, {"logprobs", json::array()}});
    CHECK(answer["usage"]["input_tokens"] == 3);
    const json calls = json::array({{{"id", "call_b"}, {"function", {{"name", "f"}, {"arguments", json::object()}}}}});
    const json called = rockllm::responses_answer(request, "resp_8", {"", ""}, calls, stats);
    REQUIRE(called["output"].size() == 1);  // no empty message beside a call
    CHECK(called["output"][0]["type"] == "function_call");
    CHECK(called["output"][0]["arguments"] == "{}");
}

TEST_SUITE_END();

}  // namespace test_openai_responses
