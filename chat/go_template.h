// Go's text/template, the language of the prompt templates Ollama models carry: text and
// {{ actions }} with {{- -}} trimming, if/else if/else, range (with $i, $v, else, break, continue),
// with, variables, pipelines, parenthesised calls, and the functions Ollama's templates use
// (and or not len index slice eq ne lt le gt ge print printf println html js urlquery json
// currentDate yesterdayDate).
//
// Data is JSON. A field name is looked up as written, then with its first letter lowered, then in
// snake_case (".ToolCalls" finds "tool_calls"), so that the wire form of messages and tools serves
// directly; a missing field is empty (Ollama parses with missingkey=zero). Objects and arrays
// print as JSON, which is what Ollama's tool types print as.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace rockllm::gotmpl {

// Parse and execution errors: "template: LINE:COL: what".
class TemplateError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct Node;

class Template {
public:
    static Template parse(std::string_view text);
    ~Template();
    Template(Template&&) noexcept;
    Template& operator=(Template&&) noexcept;

    std::string execute(const nlohmann::ordered_json& data) const;
    // Executes up to and including the first action that prints .Response, and no further:
    // Ollama's legacy templates end the prompt where the model's answer begins.
    std::string execute_until_response(const nlohmann::ordered_json& data) const;
    // Whether any action refers to the field (".Messages", "$.Tools", ".Function.Name" all count
    // for their names).
    bool references(std::string_view field) const;

private:
    Template();
    std::unique_ptr<Node> root_;
};

}  // namespace rockllm::gotmpl
