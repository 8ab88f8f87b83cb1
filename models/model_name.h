// Ollama model names: [host/][namespace/]model[:tag], with the defaults registry.ollama.ai, library
// and latest. Every part is validated before it is ever used as a path component, so a name can
// never point outside the store.
#pragma once

#include <stdexcept>
#include <string>

namespace rockllm {

class InvalidModelName : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

struct ModelName {
    static constexpr const char* kDefaultHost = "registry.ollama.ai";
    static constexpr const char* kDefaultNamespace = "library";
    static constexpr const char* kDefaultTag = "latest";

    std::string host = kDefaultHost;
    std::string name_space = kDefaultNamespace;
    std::string model;
    std::string tag = kDefaultTag;

    // Throws InvalidModelName naming the offending part.
    static ModelName parse(const std::string& text);

    // The shortest form Ollama displays: "llama3.2:latest", "user/model:tag", "hf.co/org/repo:Q4_K_M".
    std::string display() const;
    // Every part: "registry.ollama.ai/library/llama3.2:latest" (how Ollama's capability errors name a model).
    std::string full() const;
    // Case-insensitive identity, as Ollama matches names against the manifests on disk.
    bool same_as(const ModelName& other) const;
};

}  // namespace rockllm
