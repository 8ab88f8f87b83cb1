#include "weights.h"

#include <cstring>
#include <stdexcept>

namespace rockllm {

namespace {

template <class Convert>
float dot_row(const uint8_t* row, int64_t n, std::span<const float> x, Convert convert) {
    float sum = 0.0f;
    for (int64_t i = 0; i < n; ++i) sum += convert(row, i) * x[i];
    return sum;
}

float f32_at(const uint8_t* row, int64_t i) {
    float v;
    std::memcpy(&v, row + i * 4, 4);
    return v;
}
float f16_at(const uint8_t* row, int64_t i) {
    uint16_t h;
    std::memcpy(&h, row + i * 2, 2);
    return fp16_to_fp32(h);
}
float bf16_at(const uint8_t* row, int64_t i) {
    uint16_t h;
    std::memcpy(&h, row + i * 2, 2);
    return bf16_to_fp32(h);
}

using ElementReader = float (*)(const uint8_t*, int64_t);

ElementReader element_reader(GgmlType type) {
    switch (type) {
        case GgmlType::F32: return f32_at;
        case GgmlType::F16: return f16_at;
        case GgmlType::BF16: return bf16_at;
        default: throw std::invalid_argument("no CPU kernel for tensor type " + ggml_type_name(type));
    }
}

}  // namespace

bool is_supported_weight_type(GgmlType type) {
    return type == GgmlType::F32 || type == GgmlType::F16 || type == GgmlType::BF16;
}

void WeightMatrix::matvec(std::span<const float> x, std::span<float> out) const {
    const ElementReader at = element_reader(type);
    for (int64_t r = 0; r < rows; ++r) out[r] = dot_row(data + r * row_bytes, cols, x, at);
}

void WeightMatrix::read_row(int64_t r, std::span<float> out) const {
    if (r < 0 || r >= rows) throw std::out_of_range("row " + std::to_string(r) + " of '" + name + "'");
    const ElementReader at = element_reader(type);
    const uint8_t* row = data + r * row_bytes;
    for (int64_t i = 0; i < cols; ++i) out[i] = at(row, i);
}

WeightMatrix load_matrix(const gguf::File& file, const std::string& name, int64_t cols, int64_t rows) {
    const gguf::TensorInfo* t = file.find_tensor(name);
    if (!t) throw gguf::FormatError("tensor '" + name + "' is missing");
    const bool shape_ok = (t->shape.size() == 2 && t->shape[0] == cols && t->shape[1] == rows) ||
                          (t->shape.size() == 1 && rows == 1 && t->shape[0] == cols);
    if (!shape_ok) {
        std::string got;
        for (int64_t d : t->shape) got += (got.empty() ? "" : ", ") + std::to_string(d);
        throw gguf::FormatError("tensor '" + name + "' has shape [" + got + "], expected [" + std::to_string(cols) +
                                ", " + std::to_string(rows) + "]");
    }
    if (!is_supported_weight_type(t->type))
        throw gguf::FormatError("tensor '" + name + "' has type " + ggml_type_name(t->type) +
                                ", which this build cannot compute with yet");
    WeightMatrix m;
    m.name = name;
    m.type = t->type;
    m.cols = cols;
    m.rows = rows;
    m.data = t->data;
    m.row_bytes = static_cast<size_t>(t->size_bytes / static_cast<uint64_t>(rows));
    return m;
}

std::vector<float> load_vector(const gguf::File& file, const std::string& name, int64_t n) {
    const WeightMatrix m = load_matrix(file, name, n, 1);
    std::vector<float> out(static_cast<size_t>(n));
    m.read_row(0, out);
    return out;
}

}  // namespace rockllm
