// What Ollama derives from a GGUF file for its config blob, /api/tags "details" and /api/show
// "model_info": family, parameter size ("494.03M"), quantization ("Q4_K_M"), the metadata map.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "llm/gguf.h"

namespace rockllm {

// Ollama's human form of a parameter count: "260K", "494.03M", "3.2B".
std::string human_parameter_count(uint64_t count);
// The name of a general.file_type value (llama.cpp's llama_ftype): "F16", "Q4_K_M", ...
std::string file_type_name(uint32_t file_type);
uint64_t parameter_count(const gguf::File& file);

// The config blob (ConfigV2) for a model whose weights are this GGUF.
nlohmann::ordered_json config_from_gguf(const gguf::File& file);

// The metadata as JSON for /api/show; general.name and the chat template left out as Ollama does,
// and arrays longer than 5 elements replaced by [] unless verbose.
nlohmann::ordered_json gguf_model_info(const gguf::File& file, bool verbose);

}  // namespace rockllm
