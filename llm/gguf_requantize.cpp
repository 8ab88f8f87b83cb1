#include "llm/gguf_requantize.h"

#include <cctype>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "llm/gguf_writer.h"
#include "llm/quant/quantize.h"

namespace rockllm::gguf {

namespace {

// A weight matrix: the tensors a quantizer converts (vectors such as norms stay as they are).
bool is_matrix(const TensorInfo& t) { return t.shape.size() >= 2 && t.name.ends_with("weight"); }

// N of "blk.N.", or -1.
int layer_of(const std::string& name) {
    if (name.rfind("blk.", 0) != 0) return -1;
    try {
        return std::stoi(name.substr(4));
    } catch (const std::exception&) {
        return -1;
    }
}

// llama_ftype, as general.file_type records it.
uint32_t file_type_of(QuantizeMix mix) {
    switch (mix) {
        case QuantizeMix::Q8_0: return 7;
        case QuantizeMix::Q4_K_S: return 14;
        case QuantizeMix::Q4_K_M: return 15;
    }
    return 0;
}

bool is_unquantized(GgmlType type) { return type == GgmlType::F32 || type == GgmlType::F16 || type == GgmlType::BF16; }

}  // namespace

bool uses_more_bits(int64_t layer, int64_t n_layer) {
    return layer < n_layer / 8 || layer >= 7 * n_layer / 8 || (layer - n_layer / 8) % 3 == 2;
}

GgmlType fitting_type(GgmlType type, int64_t row) {
    if (row % ggml_type_info(type).block_size == 0) return type;
    switch (type) {
        case GgmlType::Q2_K: case GgmlType::Q3_K: return fitting_type(GgmlType::Q4_0, row);
        case GgmlType::Q4_K: return fitting_type(GgmlType::Q5_0, row);
        case GgmlType::Q5_K: return fitting_type(GgmlType::Q5_1, row);
        case GgmlType::Q6_K: return fitting_type(GgmlType::Q8_0, row);
        default: return GgmlType::F16;
    }
}

QuantizeMix parse_quantize_mix(const std::string& name) {
    std::string upper = name;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (upper == "Q8_0") return QuantizeMix::Q8_0;
    if (upper == "Q4_K_S") return QuantizeMix::Q4_K_S;
    if (upper == "Q4_K_M" || upper == "Q4_K") return QuantizeMix::Q4_K_M;
    throw std::invalid_argument("unsupported quantization type " + upper + " - supported types are Q4_K_S, Q4_K_M, Q8_0");
}

std::string quantize_mix_name(QuantizeMix mix) {
    switch (mix) {
        case QuantizeMix::Q8_0: return "Q8_0";
        case QuantizeMix::Q4_K_S: return "Q4_K_S";
        case QuantizeMix::Q4_K_M: return "Q4_K_M";
    }
    return "";
}

GgmlType requantized_type(const File& file, const TensorInfo& t, QuantizeMix mix) {
    // A mixture's router stays as it is, as llama.cpp's quantizer leaves it: it decides which experts run.
    if (!is_matrix(t) || t.name.ends_with("ffn_gate_inp.weight")) return t.type;
    const GgmlType base = mix == QuantizeMix::Q8_0 ? GgmlType::Q8_0 : GgmlType::Q4_K;
    const std::string arch = file.metadata().get_or<std::string>("general.architecture", "");
    const int n_layer = static_cast<int>(file.metadata().get_or<uint32_t>(arch + ".block_count", 0));
    const int layer = layer_of(t.name);
    const bool output = t.name == "output.weight" || (t.name == "token_embd.weight" && !file.find_tensor("output.weight"));
    GgmlType type = base;
    if (output) {
        if (base != GgmlType::Q8_0) type = GgmlType::Q6_K;
    } else if (t.name.ends_with("attn_v.weight") && layer >= 0) {
        if (mix == QuantizeMix::Q4_K_M && uses_more_bits(layer, n_layer)) type = GgmlType::Q6_K;
        if (mix == QuantizeMix::Q4_K_S && layer < 4) type = GgmlType::Q5_K;
    } else if (t.name.find("ffn_down") != std::string::npos && layer >= 0) {
        if (mix == QuantizeMix::Q4_K_M && uses_more_bits(layer, n_layer)) type = GgmlType::Q6_K;
        if (mix == QuantizeMix::Q4_K_S && layer < n_layer / 8) type = GgmlType::Q5_K;
    } else if (t.name.ends_with("attn_qkv.weight") && mix == QuantizeMix::Q4_K_M) {
        type = GgmlType::Q5_K;
    }
    return fitting_type(type, t.shape[0]);
}

void requantize(const File& in, QuantizeMix mix, const std::string& out_path) {
    for (const TensorInfo& t : in.tensors())
        if (is_matrix(t) && !is_unquantized(t.type))
            throw std::invalid_argument("quantization is only supported for F16, BF16 and F32 models");
    Writer out;
    for (const auto& [key, value] : in.metadata().entries()) out.set(key, value);
    out.set("general.file_type", static_cast<uint32_t>(file_type_of(mix)));
    out.set("general.quantization_version", static_cast<uint32_t>(2));
    for (const TensorInfo& t : in.tensors()) {
        const GgmlType type = requantized_type(in, t, mix);
        const TensorInfo* source = &t;
        out.add_tensor_lazy(t.name, type, t.shape, [source, type] {
            if (type == source->type) return std::vector<uint8_t>(source->data, source->data + source->size_bytes);
            const int64_t row = source->shape[0];
            const int64_t rows = source->element_count() / row;
            const uint64_t in_row_bytes = source->size_bytes / static_cast<uint64_t>(rows);
            const uint64_t out_row_bytes = tensor_size_bytes(type, {row});
            std::vector<uint8_t> bytes(out_row_bytes * static_cast<uint64_t>(rows));
            std::vector<float> values(static_cast<size_t>(row));
            for (int64_t r = 0; r < rows; ++r) {
                quant::dequantize_row(source->type, source->data + r * in_row_bytes, values.data(), row);
                quant::quantize_row(type, values.data(), bytes.data() + r * out_row_bytes, row);
            }
            return bytes;
        });
    }
    out.write_file(out_path);
}

}  // namespace rockllm::gguf
