#include "api/openai_responses.h"

#include <algorithm>

#include "api/http_json.h"
#include "api/inference.h"
#include "api/loaded_model.h"
#include "base/random_id.h"

namespace rockllm {

using nlohmann::json;

namespace {

// The text of a content list (input_text and output_text parts) or of a plain string.
std::string content_text(const json& content) {
    if (content.is_null()) return "";
    if (content.is_string()) return content.get<std::string>();
    if (!content.is_array()) throw HttpError(400, "content must be a string or array");
    std::string text;
    for (const json& part : content) {
        const std::string type = part.is_object() ? string_field(part, "type") : "";
        if (type == "input_text" || type == "output_text") text += string_field(part, "text");
        else if (type == "input_image") throw HttpError(400, "images are not supported: rockllm runs text models only");
        else if (type == "input_file") throw HttpError(400, "file inputs are not currently supported");
        else throw HttpError(400, "unknown content type: " + type);
    }
    return text;
}

// The conversation of `input` after `instructions`, as Ollama builds it: reasoning items go to the
// assistant message that follows them, function calls join the assistant message before them, and
// an assistant message replayed between a call and its output joins the call's message.
std::vector<ChatMessage> conversation(const json& body) {
    std::vector<ChatMessage> messages;
    if (const std::string instructions = string_field(body, "instructions"); !instructions.empty())
        messages.push_back({"system", instructions});
    const json input = body.value("input", json());
    if (input.is_string()) {
        if (!input.get<std::string>().empty()) messages.push_back({"user", input.get<std::string>()});
        return messages;
    }
    if (input.is_null()) return messages;
    if (!input.is_array()) throw HttpError(400, "input must be a string or array");
    std::string pending_thinking;
    const auto call_name = [&](const std::string& call_id) {
        for (const ChatMessage& m : messages)
            for (const json& call : m.tool_calls)
                if (call.value("id", "") == call_id) return call["function"].value("name", "");
        return std::string();
    };
    for (size_t i = 0; i < input.size(); ++i) {
        const json& item = input[i];
        if (!item.is_object()) throw HttpError(400, "input[" + std::to_string(i) + "] must be an object");
        std::string type = string_field(item, "type");
        if (type.empty() && item.contains("role")) type = "message";
        if (type == "message") {
            ChatMessage m(string_field(item, "role"), content_text(item.value("content", json())));
            if (m.role == "developer") m.role = "system";  // OpenAI's name for the system role
            if (m.role == "assistant" && !pending_thinking.empty()) m.thinking = std::exchange(pending_thinking, "");
            const json* next = i + 1 < input.size() ? &input[i + 1] : nullptr;
            const std::string output_of = next && next->is_object() && next->value("type", json()) == "function_call_output"
                                              ? string_field(*next, "call_id")
                                              : "";
            const auto calls_it = [&](const ChatMessage& last) {
                return std::any_of(last.tool_calls.begin(), last.tool_calls.end(), [&](const json& c) { return c.value("id", "") == output_of; });
            };
            if (m.role == "assistant" && !output_of.empty() && !messages.empty() && messages.back().role == "assistant" &&
                calls_it(messages.back())) {
                ChatMessage& last = messages.back();
                if (!last.content.empty() && !m.content.empty()) last.content += "\n";
                last.content += m.content;
                if (!m.thinking.empty()) last.thinking = m.thinking;
                continue;
            }
            messages.push_back(std::move(m));
        } else if (type == "function_call") {
            json arguments = json::object();
            if (const std::string text = string_field(item, "arguments"); !text.empty()) {
                arguments = json::parse(text, nullptr, false);
                if (arguments.is_discarded() || !arguments.is_object())
                    throw HttpError(400, "failed to parse function call arguments: " + text);
            }
            const json call = {{"id", string_field(item, "call_id")}, {"function", {{"name", string_field(item, "name")}, {"arguments", arguments}}}};
            if (messages.empty() || messages.back().role != "assistant") messages.push_back({"assistant", ""});
            messages.back().tool_calls.push_back(call);
            if (!pending_thinking.empty()) messages.back().thinking = std::exchange(pending_thinking, "");
        } else if (type == "function_call_output") {
            ChatMessage result("tool", content_text(item.value("output", json())));
            result.tool_call_id = string_field(item, "call_id");
            result.tool_name = call_name(result.tool_call_id);
            messages.push_back(std::move(result));
        } else if (type == "reasoning") {
            pending_thinking = string_field(item, "encrypted_content");
            if (pending_thinking.empty() && item.contains("summary") && item["summary"].is_array())
                for (const json& s : item["summary"]) pending_thinking += s.is_object() ? string_field(s, "text") : "";
        } else if (type == "web_search_call") {
            // history of a built-in tool: the assistant message after it carries what it found
        } else if (type.empty()) {
            throw HttpError(400, "input[" + std::to_string(i) + "]: input item missing required 'type' field");
        } else {
            throw HttpError(400, "input[" + std::to_string(i) + "]: unknown input item type: \"" + type + "\"");
        }
    }
    if (!pending_thinking.empty()) {
        ChatMessage m("assistant", "");
        m.thinking = pending_thinking;
        messages.push_back(std::move(m));
    }
    return messages;
}

// Responses tools ({type, name, description, parameters}) as Ollama's function tools; a namespace's
// member functions under "namespace.name".
void append_tools(const json& tools, const std::string& prefix, json& out) {
    if (tools.is_null()) return;
    if (!tools.is_array()) throw HttpError(400, "tools must be a list of tools");
    for (const json& t : tools) {
        if (!t.is_object()) throw HttpError(400, "each tool must be an object");
        const std::string type = string_field(t, "type"), name = string_field(t, "name");
        if (type == "namespace") {
            append_tools(t.value("tools", json()), prefix + name + ".", out);
        } else if (type == "function") {
            json parameters = t.value("parameters", json::object());
            if (parameters.is_null()) parameters = json::object();
            const std::string full = name.rfind(prefix, 0) == 0 ? name : prefix + name;
            out.push_back({{"type", "function"}, {"function", {{"name", full}, {"description", string_field(t, "description")}, {"parameters", parameters}}}});
        } else {
            throw HttpError(400, "tool type \"" + type + "\" is not supported: rockllm runs function tools only");
        }
    }
}

json output_text_part(const std::string& text) {
    return {{"type", "output_text"}, {"text", text}, {"annotations", json::array()}, {"logprobs", json::array()}};
}

json message_item(const std::string& id, const std::string& status, const std::string& text, bool with_text) {
    json content = json::array();
    if (with_text) content.push_back(output_text_part(text));
    return {{"id", id}, {"type", "message"}, {"status", status}, {"role", "assistant"}, {"content", content}};
}

json reasoning_item(const std::string& id, const std::string& thinking) {
    return {{"id", id}, {"type", "reasoning"}, {"summary", {{{"type", "summary_text"}, {"text", thinking}}}}, {"encrypted_content", thinking}};
}

json function_call_item(const std::string& id, const json& call, const std::string& status, bool with_arguments) {
    return {{"id", id},
            {"type", "function_call"},
            {"status", status},
            {"call_id", call.value("id", "")},
            {"name", call["function"].value("name", "")},
            {"arguments", with_arguments ? call["function"].value("arguments", json::object()).dump() : ""}};
}

json response_usage(const GenerationStats& stats) {
    return {{"input_tokens", stats.prompt_eval_count},
            {"output_tokens", stats.eval_count},
            {"total_tokens", stats.prompt_eval_count + stats.eval_count},
            {"input_tokens_details", {{"cached_tokens", 0}}},
            {"output_tokens_details", {{"reasoning_tokens", 0}}}};
}

// The response object: the request's settings (echo), then what is known at this point.
json response_object(const json& echo, const std::string& id, const std::string& model, int64_t created_at, const std::string& status,
                     const json& output, const json& usage_or_null) {
    json r = {{"id", id},
              {"object", "response"},
              {"created_at", created_at},
              {"completed_at", status == "completed" ? json(unix_seconds()) : json()},
              {"status", status},
              {"incomplete_details", nullptr},
              {"model", model},
              {"previous_response_id", nullptr},
              {"output", output},
              {"error", nullptr},
              {"tool_choice", "auto"},
              {"parallel_tool_calls", true},
              {"presence_penalty", 0},
              {"frequency_penalty", 0},
              {"top_logprobs", 0},
              {"usage", usage_or_null},
              {"max_tool_calls", nullptr},
              {"store", false},
              {"service_tier", "default"},
              {"metadata", json::object()},
              {"safety_identifier", nullptr},
              {"prompt_cache_key", nullptr}};
    r.update(echo);
    return r;
}

}  // namespace

std::string new_response_id() { return random_id("resp_", kDigits, 12); }

ResponsesRequest parse_responses_request(const json& body, const nlohmann::ordered_json& text) {
    ResponsesRequest r;
    r.model = string_field(body, "model");
    r.messages = conversation(body);
    r.options["temperature"] = body.contains("temperature") && !body["temperature"].is_null() ? body["temperature"] : json(1.0);
    if (body.contains("top_p") && !body["top_p"].is_null()) r.options["top_p"] = body["top_p"];
    if (body.contains("max_output_tokens") && !body["max_output_tokens"].is_null()) r.options["num_predict"] = body["max_output_tokens"];
    append_tools(body.value("tools", json()), "", r.tools);
    const json reasoning = body.value("reasoning", json::object());
    const std::string effort = reasoning.is_object() ? string_field(reasoning, "effort") : "";
    r.think = think_from_reasoning_effort(effort);
    json format_echo = {{"type", "text"}};
    if (text.is_object() && text.contains("format") && text["format"].is_object()) {
        const nlohmann::ordered_json& format = text["format"];
        const std::string type = format.contains("type") && format["type"].is_string() ? format["type"].get<std::string>() : "";
        if (type == "json_schema") {
            if (!format.contains("schema") || !format["schema"].is_object()) throw HttpError(400, "text.format json_schema needs a schema");
            r.format = format["schema"];
        } else if (type == "json_object") {
            r.format = "json";
        } else if (type != "text") {
            throw HttpError(400, "invalid text.format type: \"" + type + "\" (must be \"text\", \"json_object\" or \"json_schema\")");
        }
        format_echo = json::parse(format.dump());
    }
    r.stream = bool_field(body, "stream", false);

    const std::string instructions = string_field(body, "instructions");
    json reasoning_echo;
    if (reasoning.is_object() && (!effort.empty() || reasoning.contains("summary")))
        reasoning_echo = {{"effort", effort.empty() ? json() : json(effort)}, {"summary", reasoning.value("summary", json())}};
    r.echo = {{"instructions", instructions.empty() ? json() : json(instructions)},
              {"tools", body.contains("tools") && body["tools"].is_array() ? body["tools"] : json::array()},
              {"truncation", body.contains("truncation") && body["truncation"].is_string() ? body["truncation"] : json("disabled")},
              {"text", {{"format", format_echo}}},
              {"temperature", r.options["temperature"]},
              {"top_p", body.contains("top_p") && !body["top_p"].is_null() ? body["top_p"] : json(1.0)},
              {"max_output_tokens", body.value("max_output_tokens", json())},
              {"reasoning", reasoning_echo},
              {"background", body.contains("background") && body["background"].is_boolean() ? body["background"] : json(false)}};
    return r;
}

json responses_answer(const ResponsesRequest& request, const std::string& id, const OutputDelta& all, const json& tool_calls,
                      const GenerationStats& stats) {
    json output = json::array();
    const std::string suffix = id.substr(id.find('_') + 1);
    if (!all.thinking.empty()) output.push_back(reasoning_item("rs_" + suffix, all.thinking));
    if (!all.content.empty() || tool_calls.empty()) output.push_back(message_item("msg_" + suffix, "completed", all.content, true));
    for (size_t i = 0; i < tool_calls.size(); ++i)
        output.push_back(function_call_item("fc_" + suffix + "_" + std::to_string(i), tool_calls[i], "completed", true));
    return response_object(request.echo, id, request.model, unix_seconds(), "completed", output, response_usage(stats));
}

ResponsesEventStream::ResponsesEventStream(const ResponsesRequest& request, std::string id)
    : echo_(request.echo), id_(std::move(id)), model_(request.model), created_at_(unix_seconds()) {}

std::string ResponsesEventStream::event(const std::string& type, json data) {
    data["type"] = type;
    data["sequence_number"] = sequence_++;
    return "event: " + type + "\ndata: " + data.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
}

std::string ResponsesEventStream::item_id(const char* prefix) const {
    return prefix + id_.substr(id_.find('_') + 1) + "_" + std::to_string(output_index_);
}

std::string ResponsesEventStream::start() {
    if (started_) return "";
    started_ = true;
    const json response = response_object(echo_, id_, model_, created_at_, "in_progress", json::array(), nullptr);
    std::string out = event("response.created", {{"response", response}});  // one event a statement: each takes the next number
    return out + event("response.in_progress", {{"response", response}});
}

std::string ResponsesEventStream::finish_reasoning() {
    if (!reasoning_open_) return "";
    reasoning_open_ = false;
    const json item = reasoning_item(item_id("rs_"), reasoning_);
    done_items_.push_back(item);
    const int index = output_index_++;
    std::string out = event("response.reasoning_summary_text.done",
                            {{"item_id", item["id"]}, {"output_index", index}, {"summary_index", 0}, {"text", reasoning_}});
    return out + event("response.output_item.done", {{"output_index", index}, {"item", item}});
}

std::string ResponsesEventStream::finish_message() {
    if (!message_open_) return "";
    message_open_ = false;
    const json item = message_item(item_id("msg_"), "completed", text_, true);
    done_items_.push_back(item);
    const int index = output_index_++;
    const json& part = item["content"][0];
    std::string out = event("response.output_text.done", {{"item_id", item["id"]}, {"output_index", index}, {"content_index", 0},
                                                          {"text", text_}, {"logprobs", json::array()}});
    out += event("response.content_part.done", {{"item_id", item["id"]}, {"output_index", index}, {"content_index", 0}, {"part", part}});
    return out + event("response.output_item.done", {{"output_index", index}, {"item", item}});
}

std::string ResponsesEventStream::delta(const OutputDelta& d) {
    std::string out = start();
    if (!d.thinking.empty()) {
        out += finish_message();
        const std::string id = item_id("rs_");
        if (!reasoning_open_) {
            reasoning_open_ = true;
            reasoning_.clear();
            out += event("response.output_item.added",
                         {{"output_index", output_index_}, {"item", {{"id", id}, {"type", "reasoning"}, {"summary", json::array()}}}});
        }
        reasoning_ += d.thinking;
        out += event("response.reasoning_summary_text.delta",
                     {{"item_id", id}, {"output_index", output_index_}, {"summary_index", 0}, {"delta", d.thinking}});
    }
    if (!d.content.empty()) {
        out += finish_reasoning();
        const std::string id = item_id("msg_");
        if (!message_open_) {
            message_open_ = true;
            text_.clear();
            out += event("response.output_item.added", {{"output_index", output_index_}, {"item", message_item(id, "in_progress", "", false)}});
            out += event("response.content_part.added", {{"item_id", id}, {"output_index", output_index_}, {"content_index", 0}, {"part", output_text_part("")}});
        }
        text_ += d.content;
        out += event("response.output_text.delta", {{"item_id", id}, {"output_index", output_index_}, {"content_index", 0},
                                                    {"delta", d.content}, {"logprobs", json::array()}});
    }
    return out;
}

std::string ResponsesEventStream::end(const OutputDelta& rest, const json& tool_calls, const GenerationStats& stats) {
    std::string out = delta(rest);
    out += finish_reasoning();
    out += finish_message();
    for (const json& call : tool_calls) {
        const std::string id = item_id("fc_");
        const json item = function_call_item(id, call, "completed", true);
        out += event("response.output_item.added", {{"output_index", output_index_}, {"item", function_call_item(id, call, "in_progress", false)}});
        out += event("response.function_call_arguments.delta", {{"item_id", id}, {"output_index", output_index_}, {"delta", item["arguments"]}});
        out += event("response.function_call_arguments.done", {{"item_id", id}, {"output_index", output_index_}, {"arguments", item["arguments"]}});
        out += event("response.output_item.done", {{"output_index", output_index_}, {"item", item}});
        done_items_.push_back(item);
        ++output_index_;
    }
    if (done_items_.empty()) done_items_.push_back(message_item(item_id("msg_"), "completed", "", true));
    return out + event("response.completed", {{"response", response_object(echo_, id_, model_, created_at_, "completed", done_items_, response_usage(stats))}});
}

std::string ResponsesEventStream::error(const std::string& message) {
    std::string out = start();
    json response = response_object(echo_, id_, model_, created_at_, "failed", done_items_, nullptr);
    response["error"] = {{"code", "server_error"}, {"message", message}};
    return out + event("response.failed", {{"response", response}});
}

}  // namespace rockllm
