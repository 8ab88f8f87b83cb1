#include "api/anthropic_messages.h"

#include "api/http_json.h"
#include "api/loaded_model.h"
#include "base/ascii.h"
#include "base/random_id.h"

namespace rockllm {

using nlohmann::json;

namespace {

const std::string kNoImages = "images are not supported: rockllm runs text models only";

// The text of a system prompt or a tool result: a string, or the text blocks of a list joined.
std::string block_text(const json& content, const char* what) {
    if (content.is_null()) return "";
    if (content.is_string()) return content.get<std::string>();
    if (!content.is_array()) throw HttpError(400, std::string("invalid ") + what + " content");
    std::string text;
    for (const json& block : content) {
        if (!block.is_object()) continue;
        const std::string type = block.value("type", "");
        if (type == "image") throw HttpError(400, kNoImages);
        if (type == "text" && block.contains("text") && block["text"].is_string()) text += block["text"].get<std::string>();
    }
    return text;
}

// One Anthropic message as native ones: its tool results become tool messages (before the user's
// text, as Ollama orders them), its tool_use blocks the assistant's tool calls.
void append_message(const json& m, std::vector<ChatMessage>& out) {
    if (!m.is_object()) throw HttpError(400, "each message must be an object");
    ChatMessage message;
    message.role = ascii_lower(string_field(m, "role"));
    const json content = m.value("content", json());
    std::vector<ChatMessage> tool_results;
    if (content.is_string()) {
        message.content = content.get<std::string>();
    } else if (content.is_array()) {
        for (const json& block : content) {
            if (!block.is_object()) throw HttpError(400, "each content block must be an object");
            const std::string type = block.value("type", "");
            if (type == "text") {
                message.content += string_field(block, "text");
            } else if (type == "image") {
                throw HttpError(400, kNoImages);
            } else if (type == "tool_use") {
                const std::string id = string_field(block, "id"), name = string_field(block, "name");
                if (id.empty()) throw HttpError(400, "tool_use block missing required 'id' field");
                if (name.empty()) throw HttpError(400, "tool_use block missing required 'name' field");
                const json input = block.value("input", json::object());
                message.tool_calls.push_back(
                    {{"id", id}, {"function", {{"name", name}, {"arguments", input.is_object() ? input : json::object()}}}});
            } else if (type == "tool_result") {
                ChatMessage result("tool", block_text(block.value("content", json()), "tool_result"));
                result.tool_call_id = string_field(block, "tool_use_id");
                tool_results.push_back(std::move(result));
            } else if (type == "thinking") {
                message.thinking = string_field(block, "thinking");
            }  // other blocks (redacted thinking, documents, server tools) are left out, as Ollama does
        }
    } else if (!content.is_null()) {
        throw HttpError(400, "invalid message content type");
    }
    const bool user = message.role == "user";
    if (user) out.insert(out.end(), tool_results.begin(), tool_results.end());
    if (!message.content.empty() || !message.tool_calls.empty() || !message.thinking.empty()) out.push_back(std::move(message));
    if (!user) out.insert(out.end(), tool_results.begin(), tool_results.end());
}

// Anthropic's tools ({name, description, input_schema}) as Ollama's function tools.
json native_tools(const json& tools) {
    json out = json::array();
    if (tools.is_null()) return out;
    if (!tools.is_array()) throw HttpError(400, "tools must be a list of tools");
    for (const json& t : tools) {
        if (!t.is_object()) throw HttpError(400, "each tool must be an object");
        const json schema = t.value("input_schema", json::object());
        if (!schema.is_object()) throw HttpError(400, "invalid input_schema for tool \"" + string_field(t, "name") + "\"");
        out.push_back({{"type", "function"},
                       {"function", {{"name", string_field(t, "name")}, {"description", string_field(t, "description")}, {"parameters", schema}}}});
    }
    return out;
}

// "thinking": {"type": "enabled"|"disabled"}, else output_config.effort as a level.
ThinkSetting think_setting(const json& body) {
    ThinkSetting think;
    if (const auto it = body.find("thinking"); it != body.end() && it->is_object()) {
        const std::string type = it->value("type", "");
        if (type == "enabled") think = {true, true, ""};
        if (type == "disabled") think = {true, false, ""};
    }
    if (const auto it = body.find("output_config"); !think.is_set && it != body.end() && it->is_object()) {
        std::string effort = it->contains("effort") && (*it)["effort"].is_string() ? (*it)["effort"].get<std::string>() : "";
        if (effort == "xhigh") effort = "high";
        if (effort == "low" || effort == "medium" || effort == "high" || effort == "max") think = {true, true, effort};
    }
    return think;
}

std::string sse(const char* event, const json& data) {
    return std::string("event: ") + event + "\ndata: " + data.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
}

json tool_use_block(const json& call) {
    std::string id = call.value("id", "");
    if (id.empty()) id = random_id("toolu_", kHexDigits, 24);
    return {{"type", "tool_use"}, {"id", id}, {"name", call["function"].value("name", "")}, {"input", call["function"].value("arguments", json::object())}};
}

json usage(int64_t input_tokens, int64_t output_tokens) { return {{"input_tokens", input_tokens}, {"output_tokens", output_tokens}}; }

}  // namespace

AnthropicRequest parse_anthropic_request(const json& body) {
    AnthropicRequest r;
    r.model = string_field(body, "model");
    if (r.model.empty()) throw HttpError(400, "model is required");
    const json max_tokens = body.value("max_tokens", json());
    if (!max_tokens.is_number_integer() || max_tokens.get<int64_t>() <= 0)
        throw HttpError(400, "max_tokens is required and must be positive");
    const json messages = body.value("messages", json());
    if (!messages.is_array() || messages.empty()) throw HttpError(400, "messages is required");

    const std::string system = block_text(body.value("system", json()), "system");
    if (!system.empty()) r.messages.push_back({"system", system});
    for (const json& m : messages) append_message(m, r.messages);

    r.options["num_predict"] = max_tokens;
    for (const char* key : {"temperature", "top_p", "top_k"})
        if (body.contains(key) && !body[key].is_null()) r.options[key] = body[key];
    if (const auto it = body.find("stop_sequences"); it != body.end() && !it->is_null()) {
        if (!it->is_array()) throw HttpError(400, "stop_sequences must be a list of strings");
        if (!it->empty()) r.options["stop"] = *it;
    }
    r.tools = native_tools(body.value("tools", json()));
    r.think = think_setting(body);
    r.stream = bool_field(body, "stream", false);
    return r;
}

json anthropic_error(int status, const std::string& message) {
    const char* type = status == 400   ? "invalid_request_error"
                       : status == 401 ? "authentication_error"
                       : status == 403 ? "permission_error"
                       : status == 404 ? "not_found_error"
                       : status == 429 ? "rate_limit_error"
                       : status == 503 ? "overloaded_error"
                                       : "api_error";
    return {{"type", "error"}, {"error", {{"type", type}, {"message", message}}}, {"request_id", random_id("req_", kHexDigits, 24)}};
}

std::string anthropic_stop_reason(const std::string& done_reason, bool called_tools) {
    if (called_tools) return "tool_use";
    if (done_reason == "length") return "max_tokens";
    return "end_turn";
}

json anthropic_message(const std::string& id, const std::string& model, const OutputDelta& all, const json& tool_calls,
                       const GenerationStats& stats) {
    json content = json::array();
    if (!all.thinking.empty()) content.push_back({{"type", "thinking"}, {"thinking", all.thinking}});
    if (!all.content.empty()) content.push_back({{"type", "text"}, {"text", all.content}});
    for (const json& call : tool_calls) content.push_back(tool_use_block(call));
    return {{"id", id},
            {"type", "message"},
            {"role", "assistant"},
            {"model", model},
            {"content", content},
            {"stop_reason", anthropic_stop_reason(stats.done_reason, !tool_calls.empty())},
            {"stop_sequence", nullptr},
            {"usage", usage(stats.prompt_eval_count, stats.eval_count)}};
}

AnthropicEventStream::AnthropicEventStream(std::string id, std::string model, int64_t prompt_tokens)
    : id_(std::move(id)), model_(std::move(model)), prompt_tokens_(prompt_tokens) {}

std::string AnthropicEventStream::start_message() {
    if (started_) return "";
    started_ = true;
    return sse("message_start", {{"type", "message_start"},
                                 {"message", {{"id", id_}, {"type", "message"}, {"role", "assistant"}, {"model", model_},
                                              {"content", json::array()}, {"stop_reason", nullptr}, {"stop_sequence", nullptr},
                                              {"usage", usage(prompt_tokens_, 0)}}}});
}

std::string AnthropicEventStream::close_block() {
    if (open_ == Block::None) return "";
    open_ = Block::None;
    return sse("content_block_stop", {{"type", "content_block_stop"}, {"index", index_++}});
}

std::string AnthropicEventStream::open_block(Block kind) {
    if (open_ == kind) return "";
    std::string out = close_block();
    open_ = kind;
    const json block = kind == Block::Thinking ? json{{"type", "thinking"}, {"thinking", ""}} : json{{"type", "text"}, {"text", ""}};
    return out + sse("content_block_start", {{"type", "content_block_start"}, {"index", index_}, {"content_block", block}});
}

std::string AnthropicEventStream::delta(const OutputDelta& d) {
    std::string out = start_message();
    const auto send = [&](Block kind, const char* type, const char* field, const std::string& text) {
        if (text.empty()) return;
        out += open_block(kind);
        out += sse("content_block_delta", {{"type", "content_block_delta"}, {"index", index_}, {"delta", {{"type", type}, {field, text}}}});
    };
    send(Block::Thinking, "thinking_delta", "thinking", d.thinking);
    send(Block::Text, "text_delta", "text", d.content);
    return out;
}

std::string AnthropicEventStream::end(const OutputDelta& rest, const json& tool_calls, const GenerationStats& stats) {
    std::string out = delta(rest);
    out += close_block();
    for (const json& call : tool_calls) {
        json block = tool_use_block(call);
        const std::string arguments = block["input"].dump();
        block["input"] = json::object();  // the arguments follow as one input_json_delta
        out += sse("content_block_start", {{"type", "content_block_start"}, {"index", index_}, {"content_block", block}});
        out += sse("content_block_delta", {{"type", "content_block_delta"}, {"index", index_},
                                           {"delta", {{"type", "input_json_delta"}, {"partial_json", arguments}}}});
        out += sse("content_block_stop", {{"type", "content_block_stop"}, {"index", index_++}});
    }
    out += sse("message_delta", {{"type", "message_delta"},
                                 {"delta", {{"stop_reason", anthropic_stop_reason(stats.done_reason, !tool_calls.empty())}, {"stop_sequence", nullptr}}},
                                 {"usage", usage(stats.prompt_eval_count, stats.eval_count)}});
    return out + sse("message_stop", {{"type", "message_stop"}});
}

std::string AnthropicEventStream::error(const std::string& message) {
    return sse("error", {{"type", "error"}, {"error", {{"type", "api_error"}, {"message", message}}}});
}

}  // namespace rockllm
