// OpenAI's Responses API (POST /v1/responses) as Ollama serves it, translated onto the chat
// pipeline: `input` (a string, or message / function_call / function_call_output / reasoning
// items), `instructions`, tools, sampling fields and `text.format` as native ones; the answer as a
// response object (reasoning, message and function_call output items) or its stream of events
// (response.created ... response.completed, each numbered). Nothing is stored: previous_response_id
// is not supported, as in Ollama. Pure translation, no HTTP: the route is in openai_routes.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat/chat_prompt.h"
#include "chat/output_parser.h"

namespace rockllm {

struct GenerationStats;

struct ResponsesRequest {
    std::string model;
    std::vector<ChatMessage> messages;
    nlohmann::json options = nlohmann::json::object();  // Ollama's options
    nlohmann::json tools = nlohmann::json::array();     // Ollama's tools
    nlohmann::ordered_json format;                      // a JSON schema, "json", or null
    ThinkSetting think;
    bool stream = false;
    nlohmann::json echo;  // the request's settings as every response object repeats them
};

// `body` is the request; `text` its "text" member in written order (for a schema's property order).
// Throws HttpError 400 with Ollama's texts for malformed input.
ResponsesRequest parse_responses_request(const nlohmann::json& body, const nlohmann::ordered_json& text);

// "resp_" and random digits; the response's items are named after it.
std::string new_response_id();

// The response object of a finished answer (a request that does not stream).
nlohmann::json responses_answer(const ResponsesRequest& request, const std::string& id, const OutputDelta& all,
                                const nlohmann::json& tool_calls, const GenerationStats& stats);

// The events of a streamed answer, in order, as server-sent events; each call gives its events' text.
class ResponsesEventStream {
public:
    ResponsesEventStream(const ResponsesRequest& request, std::string id);

    std::string delta(const OutputDelta& d);
    std::string end(const OutputDelta& rest, const nlohmann::json& tool_calls, const GenerationStats& stats);
    std::string error(const std::string& message);

private:
    std::string event(const std::string& type, nlohmann::json data);
    std::string item_id(const char* prefix) const;  // of the item at output_index_
    std::string start();
    std::string finish_reasoning();
    std::string finish_message();

    nlohmann::json echo_;
    std::string id_, model_;
    int64_t created_at_;
    int sequence_ = 0;
    bool started_ = false;
    int output_index_ = 0;  // of the open item, or of the next one
    nlohmann::json done_items_ = nlohmann::json::array();
    bool reasoning_open_ = false, message_open_ = false;
    std::string reasoning_, text_;
};

}  // namespace rockllm
