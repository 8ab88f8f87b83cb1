// Weights converted for the NPU, once, at load: any GGUF type is dequantized row by row and
// requantized to what the NPU multiplies. Int8 (W8A8, the default) keeps one scale per output
// channel (row), as Rockchip's w8a8 does: row r's weights are q[r][k] · scale[r]. Fp16 keeps the
// values as half floats. Activations get the same treatment per row at each call
// (quantize_activations), and an int32 result is dequantized with both scales.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "llm/thread_pool.h"
#include "llm/weights.h"
#include "npu/matmul_layout.h"

namespace rockllm::npu {

// N rows of K elements, row-major: int8_t (with scales) or fp16 bits.
struct NpuMatrix {
    MatmulType type = MatmulType::Int8;
    int64_t rows = 0, cols = 0;
    const float* scales = nullptr;  // int8: one per row
    const uint8_t* data = nullptr;  // rows · cols · input_bytes(type)
    // Storage when the matrix was converted here (else the views point into the weight cache).
    std::vector<float> owned_scales;
    std::vector<uint8_t> owned_data;

    size_t data_bytes() const { return static_cast<size_t>(rows * cols) * input_bytes(type); }
    const uint8_t* row(int64_t r) const { return data + static_cast<size_t>(r * cols) * input_bytes(type); }
};

// The rows of all parts one after another (Q, K and V become one matrix); the parts share cols.
// Throws NpuError for an fp16 conversion of a value outside fp16's range.
NpuMatrix convert_for_npu(std::span<const WeightMatrix* const> parts, MatmulType type, ThreadPool& pool);

// Activations of one call, quantized per row.
struct QuantizedActivations {
    std::vector<uint8_t> data;  // n_tokens rows of cols int8_t or fp16 bits
    std::vector<float> scales;  // the factor that takes row r back to the original values
};
void quantize_activations(const float* x, int64_t n_tokens, int64_t cols, MatmulType type, QuantizedActivations& out);

}  // namespace rockllm::npu
