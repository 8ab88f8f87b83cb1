// Anthropic's Messages API (POST /v1/messages) as Ollama serves it, translated onto the chat
// pipeline: the request's system, messages (text, tool_use, tool_result and thinking blocks),
// tools and sampling fields as native ones, and the answer as Anthropic's message object or its
// stream of server-sent events (message_start, content blocks, message_delta, message_stop).
// Pure translation, no HTTP: the route is in anthropic_routes.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat/chat_prompt.h"
#include "chat/output_parser.h"

namespace rockllm {

struct GenerationStats;

struct AnthropicRequest {
    std::string model;
    std::vector<ChatMessage> messages;
    nlohmann::json options = nlohmann::json::object();  // Ollama's options
    nlohmann::json tools = nlohmann::json::array();     // Ollama's tools
    ThinkSetting think;
    bool stream = false;
};

// Throws HttpError 400 with Ollama's texts ("max_tokens is required and must be positive", ...).
AnthropicRequest parse_anthropic_request(const nlohmann::json& body);

// Anthropic's error object for a status: {"type":"error","error":{"type","message"},"request_id"}.
nlohmann::json anthropic_error(int status, const std::string& message);

// Ollama's done_reason as Anthropic's stop_reason: tool_use when tools were called, end_turn,
// max_tokens.
std::string anthropic_stop_reason(const std::string& done_reason, bool called_tools);

// The whole answer of a request that does not stream.
nlohmann::json anthropic_message(const std::string& id, const std::string& model, const OutputDelta& all,
                                 const nlohmann::json& tool_calls, const GenerationStats& stats);

// The events of a streamed answer, in order; each call gives the text of its events. The first
// event is message_start; a block opens when its kind of output starts and closes when another
// starts or the message ends.
class AnthropicEventStream {
public:
    AnthropicEventStream(std::string id, std::string model, int64_t prompt_tokens);

    std::string delta(const OutputDelta& d);
    std::string end(const OutputDelta& rest, const nlohmann::json& tool_calls, const GenerationStats& stats);
    std::string error(const std::string& message);

private:
    enum class Block { None, Thinking, Text };

    std::string start_message();
    std::string open_block(Block kind);
    std::string close_block();

    std::string id_, model_;
    int64_t prompt_tokens_;
    bool started_ = false;
    Block open_ = Block::None;
    int index_ = 0;  // of the open block, or of the next one when none is open
};

}  // namespace rockllm
