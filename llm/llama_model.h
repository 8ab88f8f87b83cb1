// The weights of a llama-architecture model, validated against its configuration at load.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "gguf.h"
#include "model_config.h"
#include "weights.h"

namespace rockllm {

struct LlamaLayer {
    std::vector<float> attn_norm;
    WeightMatrix wq, wk, wv, wo;
    std::vector<float> ffn_norm;
    WeightMatrix ffn_gate, ffn_up, ffn_down;
};

struct LlamaModel {
    std::shared_ptr<const gguf::File> file;  // keeps the mapping that the weight views point into
    ModelConfig config;
    WeightMatrix token_embedding;
    std::vector<LlamaLayer> layers;
    std::vector<float> output_norm;
    WeightMatrix output;  // the token embedding itself when the file has no output.weight

    static LlamaModel load(std::shared_ptr<const gguf::File> file);
};

}  // namespace rockllm
