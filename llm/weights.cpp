#include "weights.h"

#include <stdexcept>

#include "llm/kernels/interleaved.h"
#include "llm/quant/quantize.h"

namespace rockllm {

void WeightMatrix::read_row(int64_t r, std::span<float> out) const {
    if (r < 0 || r >= rows) throw std::out_of_range("row " + std::to_string(r) + " of '" + name + "'");
    if (layout == WeightLayout::Interleaved8) return kernels::dequantize_interleaved_row(type, data, r, cols, quant_bias, out.data());
    quant::dequantize_row(type, row(r), out.data(), cols);
}

WeightMatrix WeightMatrix::rows_view(int64_t first, int64_t count) const {
    if (first < 0 || count <= 0 || first + count > rows) throw std::out_of_range("rows outside '" + name + "'");
    WeightMatrix m = *this;
    if (layout == WeightLayout::Interleaved8 && (first % kernels::kInterleavedRows != 0 || count % kernels::kInterleavedRows != 0))
        throw std::invalid_argument("a view of '" + name + "' must keep its groups of 8 rows");
    m.data = row(first);  // in the interleaved layout too: a group of 8 rows takes 8 row_bytes
    m.rows = count;
    return m;
}

WeightMatrix load_matrix(const gguf::File& file, const std::string& name, int64_t cols, int64_t rows) {
    const gguf::TensorInfo* t = file.find_tensor(name);
    if (!t) throw gguf::FormatError("tensor '" + name + "' is missing");
    // Every size below is divided by rows or cols; a zero from a hostile file must not get there.
    if (cols <= 0 || rows <= 0) throw gguf::FormatError("tensor '" + name + "' would have an empty dimension");
    const bool shape_ok = (t->shape.size() == 2 && t->shape[0] == cols && t->shape[1] == rows) ||
                          (t->shape.size() == 1 && rows == 1 && t->shape[0] == cols);
    if (!shape_ok) {
        std::string got;
        for (int64_t d : t->shape) got += (got.empty() ? "" : ", ") + std::to_string(d);
        throw gguf::FormatError("tensor '" + name + "' has shape [" + got + "], expected [" + std::to_string(cols) +
                                ", " + std::to_string(rows) + "]");
    }
    if (!quant::is_supported(t->type))
        throw gguf::FormatError("tensor '" + name + "' has type " + ggml_type_name(t->type) +
                                ", which this build cannot compute with");
    WeightMatrix m;
    m.name = name;
    m.type = t->type;
    m.cols = cols;
    m.rows = rows;
    m.data = t->data;
    m.row_bytes = static_cast<size_t>(t->size_bytes / static_cast<uint64_t>(rows));
    return m;
}

std::vector<WeightMatrix> load_matrices(const gguf::File& file, const std::string& name, int64_t cols, int64_t rows, int64_t count) {
    const gguf::TensorInfo* t = file.find_tensor(name);
    if (!t) throw gguf::FormatError("tensor '" + name + "' is missing");
    if (t->shape.size() != 3 || t->shape[0] != cols || t->shape[1] != rows || t->shape[2] != count)
        throw gguf::FormatError("tensor '" + name + "' is not of shape [" + std::to_string(cols) + ", " + std::to_string(rows) + ", " +
                                std::to_string(count) + "]");
    // As one matrix of all the experts' rows, checked like any other, then cut into its experts.
    WeightMatrix all;
    if (!quant::is_supported(t->type))
        throw gguf::FormatError("tensor '" + name + "' has type " + ggml_type_name(t->type) + ", which this build cannot compute with");
    all.name = name;
    all.type = t->type;
    all.cols = cols;
    all.rows = rows * count;
    all.data = t->data;
    all.row_bytes = static_cast<size_t>(t->size_bytes / static_cast<uint64_t>(rows * count));
    std::vector<WeightMatrix> out;
    for (int64_t e = 0; e < count; ++e) {
        out.push_back(all.rows_view(e * rows, rows));
        out.back().name = name + "[" + std::to_string(e) + "]";
    }
    return out;
}

std::vector<float> load_vector(const gguf::File& file, const std::string& name, int64_t n) {
    const WeightMatrix m = load_matrix(file, name, n, 1);
    std::vector<float> out(static_cast<size_t>(n));
    m.read_row(0, out);
    return out;
}

}  // namespace rockllm
