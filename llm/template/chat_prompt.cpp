#include "llm/template/chat_prompt.h"

namespace rockllm {

using nlohmann::json;

namespace {

gotmpl::Template parse_with_response(const std::string& text) {
    gotmpl::Template t = gotmpl::Template::parse(text);
    if (!t.references("Messages") && !t.references("Response")) return gotmpl::Template::parse(text + "{{ .Response }}");
    return t;
}

json message_json(const ChatMessage& m) {
    json j = {{"role", m.role}, {"content", m.content}, {"thinking", m.thinking}, {"images", json::array()},
              {"tool_calls", m.tool_calls}, {"tool_name", m.tool_name}, {"tool_call_id", m.tool_call_id}};
    return j;
}

void add_think(json& data, const ThinkSetting& think) {
    data["Think"] = think.enabled;
    data["ThinkLevel"] = think.level.empty() && think.enabled ? "medium" : think.level;
    data["IsThinkSet"] = think.is_set;
}

}  // namespace

ChatTemplate::ChatTemplate(const std::string& text)
    : text_(text), template_(parse_with_response(text)), messages_style_(template_.references("Messages")) {}

std::string ChatTemplate::render(const std::vector<ChatMessage>& messages, const json& tools, const ThinkSetting& think) const {
    // Collate: the system messages joined, consecutive messages of one role (but tool) merged.
    std::string system;
    std::vector<ChatMessage> collated;
    for (const ChatMessage& m : messages) {
        if (m.role == "system") system += (system.empty() ? "" : "\n\n") + m.content;
        if (!collated.empty() && collated.back().role == m.role && m.role != "tool") collated.back().content += "\n\n" + m.content;
        else collated.push_back(m);
    }

    if (messages_style_) {
        json data = {{"System", system}, {"Messages", json::array()}, {"Tools", tools.is_array() ? tools : json::array()}, {"Response", ""}};
        for (const ChatMessage& m : collated) data["Messages"].push_back(message_json(m));
        add_think(data, think);
        return template_.execute(data);
    }

    // Legacy: one execution per (system, user, assistant) turn; the last one stops after .Response.
    std::string out, prompt, response;
    auto run = [&](bool last) {
        json data = {{"System", system}, {"Prompt", prompt}, {"Response", response}};
        add_think(data, think);
        out += last ? template_.execute_until_response(data) : template_.execute(data);
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
    return template_.execute({{"Prompt", prompt}, {"Suffix", suffix}, {"Response", ""}});
}

}  // namespace rockllm
