// The keys of Ollama's "options" object and the JSON type each must have, checked the way Ollama's
// Options.FromMap checks them: a wrong type is an error naming the option and the type, an unknown
// key is ignored (the routes log it, as Ollama does), null means "not given".
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rockllm {

// Throws std::invalid_argument with Ollama's text ("option \"top_k\" must be of type integer")
// for the first value of the wrong type; returns the keys Ollama does not know.
std::vector<std::string> check_ollama_option_types(const nlohmann::json& options);

}  // namespace rockllm
