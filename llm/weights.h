// Views of weight tensors inside the model file (never copied), checked against the model's shapes.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "gguf.h"

namespace rockllm {

// How a matrix's bytes are arranged.
enum class WeightLayout : uint8_t {
    Rows,    // as in the file: row after row
    Interleaved8,  // Q8_0 or Q4_0 repacked for the CPU kernels, eight rows interleaved (llm/kernels/interleaved.h)
};

// A matrix of `rows` rows, each `cols` elements long (ggml shape [cols, rows]): contiguous rows of
// the file, or a copy in a layout the CPU kernels read faster (llm/weight_repack.h).
struct WeightMatrix {
    std::string name;
    GgmlType type = GgmlType::F32;
    int64_t cols = 0;
    int64_t rows = 0;
    const uint8_t* data = nullptr;
    size_t row_bytes = 0;  // bytes per row (in a repacked layout, on average)
    WeightLayout layout = WeightLayout::Rows;
    uint8_t quant_bias = 0;  // interleaved Q8_0: XORed into every quant (x86's kernel reads them unsigned)

    // Row r in the file's layout (Rows only).
    const uint8_t* row(int64_t r) const { return data + static_cast<size_t>(r) * row_bytes; }
    // Rows [first, first + count) as a matrix of their own (fused tensors hold several matrices).
    WeightMatrix rows_view(int64_t first, int64_t count) const;
    // Writes row r converted to float (embedding look-ups).
    void read_row(int64_t r, std::span<float> out) const;
};

// Looks the tensor up and checks its type and shape; errors name the tensor and what was expected.
WeightMatrix load_matrix(const gguf::File& file, const std::string& name, int64_t cols, int64_t rows);
// A 3-D tensor [cols, rows, count] (a mixture's experts, one matrix each) as count matrices.
std::vector<WeightMatrix> load_matrices(const gguf::File& file, const std::string& name, int64_t cols, int64_t rows, int64_t count);
// A 1-D tensor of n elements (norm weights, biases), converted to float.
std::vector<float> load_vector(const gguf::File& file, const std::string& name, int64_t n);

}  // namespace rockllm
