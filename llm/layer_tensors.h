// A layer's tensors described once: what the GGUF of an architecture holds for each block (names
// and shapes as llama.cpp's converter writes them), where each lands in LayerWeights, and how the
// matrices group into the products the forward pass runs together. Loading (model.cpp), synthetic
// models (synthetic_model.cpp), the NPU's placement and the memory estimates all read this table;
// a new architecture adds its tensors here and its arithmetic to the forward pass.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "model.h"

namespace rockllm {

// One tensor of a block, "blk.N." + name in the file.
struct LayerTensor {
    std::string name;  // "attn_q.weight"
    int64_t cols = 0;  // the row length (ne[0])
    int64_t rows = 1;  // 1 for a vector (a norm's weights, a bias)
    // Where it goes: a vector to one member; a matrix to one member, or its rows split between
    // several (a fused attn_qkv becomes q, k and v).
    std::vector<float> LayerWeights::*vector = nullptr;
    std::vector<WeightMatrix LayerWeights::*> parts;
    std::vector<int64_t> part_rows;
    // llama.cpp's _M mixes give attn_v and ffn_down more bits in some layers (synthetic files).
    bool more_bits_in_mixes = false;
    // A mixture's experts: a 3-D tensor [cols, rows, experts], one matrix per expert.
    std::vector<WeightMatrix> LayerWeights::*experts = nullptr;
    int64_t n_experts = 0;

    bool is_matrix() const { return vector == nullptr && experts == nullptr; }
};

// The tensors of every block of an architecture with these hyper-parameters, in file order.
std::vector<LayerTensor> layer_tensors(const ModelConfig& config);

// Matrices whose products share an input and run as one group (one set of threads on the CPU,
// one placement on the NPU): q/k/v, the output projection, gate/up, down.
struct MatmulGroup {
    const char* name;  // "attn_qkv": the NPU names its placement "blk.N." + name
    std::vector<WeightMatrix LayerWeights::*> parts;
};
std::span<const MatmulGroup> matmul_groups();

// Each expert's matrices of a mixture-of-experts layer (none in a dense layer); they run on the CPU.
template <class Layer, class F>
void for_each_expert_matrix(Layer& layer, F&& f) {
    for (auto* experts : {&layer.expert_gate, &layer.expert_up, &layer.expert_down})
        for (auto& w : *experts) f(w);
}

// Each matrix of a layer, in group order (a mixture's FFN has none here: see for_each_expert_matrix).
template <class Layer, class F>
void for_each_matrix(Layer& layer, F&& f) {
    for (const MatmulGroup& g : matmul_groups())
        for (WeightMatrix LayerWeights::*part : g.parts) f(layer.*part);
}

}  // namespace rockllm
