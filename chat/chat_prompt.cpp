#include "chat/chat_prompt.h"

namespace rockllm {

using nlohmann::json;

namespace {

gotmpl::Template parse_with_response(const std::string& text) {
    gotmpl::Template t = gotmpl::Template::parse(text);
    if (!t.references("Messages") && !t.references("Response")) return gotmpl::Template::parse(text + "{{ .Response }}");
    return t;
}

using ordered = nlohmann::ordered_json;

ordered message_json(const ChatMessage& m) {
    // Arguments keep the sorted key order of a Go map, which is how Ollama prints them.
    ordered j = {{"role", m.role}, {"content", m.content}, {"thinking", m.thinking}, {"images", ordered::array()},
                 {"tool_calls", ordered(m.tool_calls)}, {"tool_name", m.tool_name}, {"tool_call_id", m.tool_call_id}};
    return j;
}

// A request's tools as Ollama hands them to a template: its Go structs' field order (type, items,
// function: name, description, parameters: type, $defs, items, required, properties), empty
// optional fields left out, the properties (a Go map) in sorted order.
ordered template_tools(const json& tools) {
    ordered out = ordered::array();
    if (!tools.is_array()) return out;
    const auto copy_if = [](ordered& to, const json& from, const char* key) {
        if (from.is_object() && from.contains(key) && !from[key].is_null() && !(from[key].is_array() && from[key].empty()))
            to[key] = ordered(from[key]);
    };
    for (const json& tool : tools) {
        if (!tool.is_object()) continue;
        ordered t = {{"type", tool.value("type", "")}};
        copy_if(t, tool, "items");
        const json function = tool.value("function", json::object());
        ordered f = {{"name", function.is_object() ? function.value("name", "") : ""},
                     {"description", function.is_object() ? function.value("description", "") : ""}};
        const json parameters = function.is_object() ? function.value("parameters", json::object()) : json::object();
        ordered p = {{"type", parameters.is_object() ? parameters.value("type", "") : ""}};
        copy_if(p, parameters, "$defs");
        copy_if(p, parameters, "items");
        copy_if(p, parameters, "required");
        ordered properties = ordered::object();
        if (parameters.is_object() && parameters.contains("properties") && parameters["properties"].is_object())
            for (const auto& [name, property] : parameters["properties"].items()) {
                ordered prop = ordered::object();
                if (property.is_object()) {
                    if (property.contains("type")) prop["type"] = ordered(property["type"]);
                    copy_if(prop, property, "items");
                    if (property.contains("description") && property["description"].is_string() && !property["description"].get<std::string>().empty())
                        prop["description"] = property["description"];
                    copy_if(prop, property, "enum");
                }
                properties[name] = prop;
            }
        p["properties"] = properties;
        f["parameters"] = p;
        t["function"] = f;
        out.push_back(t);
    }
    return out;
}

void add_think(ordered& data, const ThinkSetting& think) {
    data["Think"] = think.enabled;
    data["ThinkLevel"] = think.level.empty() && think.enabled ? "medium" : think.level;
    data["IsThinkSet"] = think.is_set;
}

}  // namespace

ChatTemplate::ChatTemplate(const std::string& text)
    : text_(text), template_(parse_with_response(text)), messages_style_(template_->references("Messages")) {}

ChatTemplate ChatTemplate::jinja(const std::string& source, std::string bos_token, std::string eos_token) {
    ChatTemplate t;
    t.text_ = source;
    t.jinja_ = std::make_shared<const jinja::Template>(source);
    t.bos_token_ = std::move(bos_token);
    t.eos_token_ = std::move(eos_token);
    return t;
}

// A Jinja template's capabilities, from what it reads.
bool ChatTemplate::supports_tools() const {
    return jinja_ ? text_.find("tools") != std::string::npos : template_->references("Tools");
}
bool ChatTemplate::supports_insert() const { return !jinja_ && template_->references("Suffix"); }
bool ChatTemplate::supports_thinking() const {
    if (jinja_) return text_.find("enable_thinking") != std::string::npos || text_.find("reasoning_content") != std::string::npos;
    return template_->references("Thinking") || template_->references("Think");
}

// Messages as transformers' apply_chat_template takes them: tool calls with their arguments as
// objects, tool results with the call's id and function name, reasoning as reasoning_content.
std::string ChatTemplate::render_jinja(const std::vector<ChatMessage>& messages, const json& tools, const ThinkSetting& think) const {
    nlohmann::ordered_json context = {{"messages", nlohmann::ordered_json::array()}};
    for (const ChatMessage& m : messages) {
        nlohmann::ordered_json message = {{"role", m.role}, {"content", m.content}};
        if (!m.thinking.empty()) message["reasoning_content"] = m.thinking;
        if (m.tool_calls.is_array() && !m.tool_calls.empty()) {
            message["tool_calls"] = nlohmann::ordered_json::array();
            for (const json& call : m.tool_calls) {
                nlohmann::ordered_json c = {{"type", "function"}};
                if (call.contains("id")) c["id"] = call["id"];
                const json function = call.value("function", json::object());
                c["function"] = {{"name", function.value("name", "")},
                                 {"arguments", nlohmann::ordered_json::parse(function.value("arguments", json::object()).dump())}};
                message["tool_calls"].push_back(std::move(c));
            }
        }
        if (m.role == "tool") {
            if (!m.tool_call_id.empty()) message["tool_call_id"] = m.tool_call_id;
            if (!m.tool_name.empty()) message["name"] = m.tool_name;
        }
        context["messages"].push_back(std::move(message));
    }
    if (tools.is_array() && !tools.empty()) context["tools"] = nlohmann::ordered_json::parse(tools.dump());
    context["add_generation_prompt"] = true;
    context["bos_token"] = bos_token_;
    context["eos_token"] = eos_token_;
    if (think.is_set) context["enable_thinking"] = think.enabled;
    if (!think.level.empty()) context["reasoning_effort"] = think.level;
    return jinja_->render(context);
}

std::string ChatTemplate::render(const std::vector<ChatMessage>& messages, const json& tools, const ThinkSetting& think) const {
    if (jinja_) return render_jinja(messages, tools, think);
    // Collate: the system messages joined, consecutive messages of one role (but tool) merged.
    std::string system;
    std::vector<ChatMessage> collated;
    for (const ChatMessage& m : messages) {
        if (m.role == "system") system += (system.empty() ? "" : "\n\n") + m.content;
        if (!collated.empty() && collated.back().role == m.role && m.role != "tool") collated.back().content += "\n\n" + m.content;
        else collated.push_back(m);
    }

    if (messages_style_) {
        ordered data = {{"System", system}, {"Messages", ordered::array()}, {"Tools", template_tools(tools)}, {"Response", ""}};
        for (const ChatMessage& m : collated) data["Messages"].push_back(message_json(m));
        add_think(data, think);
        return template_->execute(data);
    }

    // Legacy: one execution per (system, user, assistant) turn; the last one stops after .Response.
    std::string out, prompt, response;
    auto run = [&](bool last) {
        ordered data = {{"System", system}, {"Prompt", prompt}, {"Response", response}};
        add_think(data, think);
        out += last ? template_->execute_until_response(data) : template_->execute(data);
        system.clear();
        prompt.clear();
        response.clear();
    };
    for (const ChatMessage& m : collated) {
        if (m.role == "system") {
            if (!prompt.empty() || !response.empty()) run(false);
            system = m.content;
        } else if (m.role == "user") {
            if (!response.empty()) run(false);
            prompt = m.content;
        } else if (m.role == "assistant") {
            response = m.content;
        }
    }
    run(true);
    return out;
}

std::string ChatTemplate::render_infill(const std::string& prompt, const std::string& suffix) const {
    if (jinja_) throw jinja::Error("a Jinja chat template has no fill-in-the-middle form");
    return template_->execute(ordered{{"Prompt", prompt}, {"Suffix", suffix}, {"Response", ""}});
}

}  // namespace rockllm
