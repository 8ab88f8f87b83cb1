// The Modelfile format of `ollama create`: one instruction a line (FROM, PARAMETER, TEMPLATE, SYSTEM,
// MESSAGE, LICENSE, ADAPTER), values bare, "quoted" or """multi-line""", # comments.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace rockllm {

class ModelfileError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct Modelfile {
    std::string from;  // a model name or a path to a GGUF file
    std::vector<std::string> adapters;
    std::optional<std::string> template_text, system;
    std::vector<std::string> licenses;
    std::vector<std::pair<std::string, std::string>> parameters;  // name, value as written
    std::vector<std::pair<std::string, std::string>> messages;    // role, content
};

// Throws ModelfileError naming the line and what is wrong.
Modelfile parse_modelfile(std::string_view text);

// PARAMETER lines as the typed JSON object of a params layer: numbers and booleans converted by
// the option's type, "stop" gathered into an array. Throws ModelfileError for unknown names or
// values that are not of the option's type.
nlohmann::json parameters_to_json(const std::vector<std::pair<std::string, std::string>>& parameters);

}  // namespace rockllm
