// A LoRA adapter in llama.cpp's GGUF form (general.type "adapter", adapter.type "lora", tensors
// "<matrix>.lora_a" of shape [n_in, rank] and "<matrix>.lora_b" of shape [rank, n_out]), applied
// when the model loads by merging it into the matrices it adapts: W' = W + scale * B * A, with
// scale = alpha / rank (1 when the file gives no alpha), as llama.cpp and PEFT scale it. A merged
// matrix keeps the base matrix's type, so the model's size and speed do not change.
#pragma once

#include <memory>
#include <string>

#include "gguf.h"
#include "weights.h"

namespace rockllm {

class LoraAdapter {
public:
    // Checks the metadata and every pair's shapes; throws gguf::FormatError naming what is wrong.
    static LoraAdapter open(std::shared_ptr<const gguf::File> file, const std::string& base_architecture);

    // Whether the adapter changes this matrix (a tensor of the model file, by its name).
    bool adapts(const std::string& tensor_name) const;
    // The merged copy of `base`, its bytes appended to `owned`; throws gguf::FormatError when the
    // pair's shapes do not fit the matrix.
    WeightMatrix merged(const WeightMatrix& base, std::vector<std::shared_ptr<uint8_t[]>>& owned) const;
    // The adapted tensor names, to check that the model had every one.
    std::vector<std::string> adapted_tensors() const;

private:
    std::shared_ptr<const gguf::File> file_;
    float alpha_ = 0;
};

}  // namespace rockllm
