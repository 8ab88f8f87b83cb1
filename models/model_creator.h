// Creating a model in the store, as `ollama create` / POST /api/create do: from an uploaded GGUF blob
// or from a stored model, re-quantized when asked, with TEMPLATE, SYSTEM, PARAMETER, MESSAGE and
// LICENSE layers on top.
#pragma once

#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/model_store.h"

namespace rockllm {

struct CreateRequest {
    ModelName name;
    std::string from;  // a stored model to build on; empty when the weights come from files
    std::vector<std::pair<std::string, std::string>> files;  // file name, digest of its uploaded blob
    std::vector<std::pair<std::string, std::string>> adapters;  // a LoRA adapter GGUF, as files
    std::optional<std::string> template_text, system;
    std::optional<std::vector<std::string>> licenses;
    nlohmann::json parameters;  // an object of options, or null
    nlohmann::json messages;    // an array of {role, content}, or null
    std::string quantize;       // "" or a mix of `ollama create --quantize` (q4_K_M, q4_K_S, q8_0)
};

// A request that cannot be carried out; status is the HTTP status Ollama answers with.
class CreateError : public std::runtime_error {
public:
    CreateError(int status, const std::string& message) : std::runtime_error(message), status(status) {}
    int status;
};

// Writes the new layers, the config and the manifest; progress receives Ollama's status lines
// ("parsing GGUF", "using existing layer sha256:…", "writing manifest", "success").
void create_model(const ModelStore& store, const CreateRequest& request,
                  const std::function<void(const std::string& status)>& progress);

}  // namespace rockllm
