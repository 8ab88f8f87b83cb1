// Views of weight tensors inside the model file (never copied), checked against the model's shapes.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "gguf.h"

namespace rockllm {

// A matrix of `rows` rows, each `cols` elements long and contiguous (ggml shape [cols, rows]).
struct WeightMatrix {
    std::string name;
    GgmlType type = GgmlType::F32;
    int64_t cols = 0;
    int64_t rows = 0;
    const uint8_t* data = nullptr;
    size_t row_bytes = 0;

    const uint8_t* row(int64_t r) const { return data + static_cast<size_t>(r) * row_bytes; }
    // Rows [first, first + count) as a matrix of their own (fused tensors hold several matrices).
    WeightMatrix rows_view(int64_t first, int64_t count) const;
    // Writes row r converted to float (embedding look-ups).
    void read_row(int64_t r, std::span<float> out) const;
};

// Looks the tensor up and checks its type and shape; errors name the tensor and what was expected.
WeightMatrix load_matrix(const gguf::File& file, const std::string& name, int64_t cols, int64_t rows);
// A 1-D tensor of n elements (norm weights, biases), converted to float.
std::vector<float> load_vector(const gguf::File& file, const std::string& name, int64_t n);

}  // namespace rockllm
