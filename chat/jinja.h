// A Jinja template engine for the chat templates GGUF files carry in tokenizer.chat_template.
//
// It covers what real chat templates use: {{ }}, {% if/elif/else %}, {% for %} (with loop.*,
// else, an if filter, break/continue), {% set %} (names, tuples, namespace attributes, blocks),
// {% macro %}, {% filter %}, {% generation %}; Python-like expressions, string/list/dict methods,
// the common filters and tests, namespace(), range(), raise_exception() and strftime_now().
// Whitespace follows Hugging Face's environment: trim_blocks and lstrip_blocks on, and tojson is
// json.dumps(ensure_ascii=False) keeping key order. Anything else is an Error naming the construct
// and the line — never undefined behaviour.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "chat/jinja_value.h"

namespace rockllm::jinja {

struct Node;

class Template {
public:
    // Throws Error for a template that cannot be parsed.
    explicit Template(const std::string& source);
    ~Template();
    Template(Template&&) noexcept;
    Template& operator=(Template&&) noexcept;

    // Throws Error (raise_exception's message included) when rendering fails.
    std::string render(const nlohmann::ordered_json& variables) const;

private:
    std::shared_ptr<const std::vector<Node>> body_;
};

}  // namespace rockllm::jinja
