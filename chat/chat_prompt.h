// A conversation rendered into a prompt through a model's Go template, as Ollama does it:
// consecutive messages of one role are joined ("collated"), the system messages also become
// .System, and a template that does not range over .Messages is run once per turn (legacy
// .System/.Prompt/.Response templates), the last turn cut right after .Response.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat/go_template.h"
#include "chat/jinja.h"

namespace rockllm {

struct ChatMessage {
    ChatMessage() = default;
    ChatMessage(std::string role, std::string content) : role(std::move(role)), content(std::move(content)) {}

    std::string role;  // system, user, assistant, tool
    std::string content;
    std::string thinking;
    nlohmann::json tool_calls = nlohmann::json::array();  // [{"function":{"name","arguments"}}]
    std::string tool_name;
    std::string tool_call_id;
};

struct ThinkSetting {
    bool is_set = false;  // the request said something about thinking
    bool enabled = false;
    std::string level;  // "low", "medium", "high", "max" or ""
};

class ChatTemplate {
public:
    // Throws gotmpl::TemplateError. A template that mentions neither .Messages nor .Response gets
    // "{{ .Response }}" appended, as Ollama does.
    explicit ChatTemplate(const std::string& text);
    // A GGUF's Hugging Face Jinja chat template (tokenizer.chat_template), rendered as transformers
    // does it: messages as they are (no collation), tools, add_generation_prompt, enable_thinking
    // when the request says, and these texts as bos_token and eos_token. Throws jinja::Error.
    static ChatTemplate jinja(const std::string& source, std::string bos_token, std::string eos_token);

    std::string render(const std::vector<ChatMessage>& messages, const nlohmann::json& tools, const ThinkSetting& think) const;
    // generate with a suffix (fill in the middle): the template sees only .Prompt and .Suffix.
    std::string render_infill(const std::string& prompt, const std::string& suffix) const;

    const std::string& text() const { return text_; }
    bool supports_tools() const;
    bool supports_insert() const;
    bool supports_thinking() const;

private:
    ChatTemplate() = default;
    std::string render_jinja(const std::vector<ChatMessage>& messages, const nlohmann::json& tools, const ThinkSetting& think) const;

    std::string text_;
    std::optional<gotmpl::Template> template_;
    bool messages_style_ = false;
    std::shared_ptr<const jinja::Template> jinja_;
    std::string bos_token_, eos_token_;
};

// Ollama's template for models that have none: the prompt as it is.
constexpr const char* kDefaultTemplate = "{{ .Prompt }}";

}  // namespace rockllm
