#include "lora_adapter.h"

#include "ggml_type.h"
#include "quant/quantize.h"

namespace rockllm {

namespace {

const std::string kA = ".lora_a", kB = ".lora_b";

// A lora_a / lora_b tensor: the name of a base tensor with the suffix (never the suffix alone).
bool has_suffix(const std::string& name, const std::string& suffix) { return name.size() > suffix.size() && name.ends_with(suffix); }

// A tensor of the adapter as rows of floats (rows = shape[1], cols = shape[0]).
std::vector<float> as_floats(const gguf::TensorInfo& t) {
    std::vector<float> out(static_cast<size_t>(t.element_count()));
    const int64_t cols = t.shape[0], rows = t.element_count() / cols;
    const size_t row_bytes = t.size_bytes / static_cast<size_t>(rows);
    for (int64_t r = 0; r < rows; ++r) quant::dequantize_row(t.type, t.data + r * row_bytes, out.data() + r * cols, cols);
    return out;
}

}  // namespace

LoraAdapter LoraAdapter::open(std::shared_ptr<const gguf::File> file, const std::string& base_architecture) {
    const gguf::Metadata& m = file->metadata();
    if (m.get_or<std::string>("general.type", "") != "adapter") throw gguf::FormatError("the adapter is not a GGUF adapter (general.type)");
    if (m.get_or<std::string>("adapter.type", "") != "lora") throw gguf::FormatError("the adapter is not a LoRA adapter (adapter.type)");
    const std::string arch = m.get_or<std::string>("general.architecture", "");
    if (arch != base_architecture)
        throw gguf::FormatError("the adapter is for " + (arch.empty() ? std::string("an unnamed architecture") : arch) + ", the model is " +
                                base_architecture);
    LoraAdapter adapter;
    adapter.alpha_ = m.get_or<float>("adapter.lora.alpha", 0.0f);
    for (const gguf::TensorInfo& t : file->tensors()) {
        const bool a = has_suffix(t.name, kA), b = has_suffix(t.name, kB);
        if (!a && !b) throw gguf::FormatError("adapter tensor '" + t.name + "' is neither a lora_a nor a lora_b");
        if (t.shape.size() != 2 || !quant::is_supported(t.type)) throw gguf::FormatError("adapter tensor '" + t.name + "' is not a matrix this build reads");
        const std::string base = t.name.substr(0, t.name.size() - kA.size());
        const gguf::TensorInfo* other = file->find_tensor(base + (a ? kB : kA));
        if (!other) throw gguf::FormatError("adapter tensor '" + t.name + "' has no " + (a ? "lora_b" : "lora_a"));
        const gguf::TensorInfo& ta = a ? t : *other;
        const gguf::TensorInfo& tb = a ? *other : t;
        if (ta.shape[1] != tb.shape[0] || ta.shape[1] <= 0)
            throw gguf::FormatError("adapter tensors of '" + base + "' disagree on the rank (lora_a must be [n_in, rank], lora_b [rank, n_out])");
    }
    adapter.file_ = std::move(file);
    return adapter;
}

bool LoraAdapter::adapts(const std::string& tensor_name) const { return file_->find_tensor(tensor_name + kA) != nullptr; }

std::vector<std::string> LoraAdapter::adapted_tensors() const {
    std::vector<std::string> out;
    for (const gguf::TensorInfo& t : file_->tensors())
        if (has_suffix(t.name, kA)) out.push_back(t.name.substr(0, t.name.size() - kA.size()));
    return out;
}

WeightMatrix LoraAdapter::merged(const WeightMatrix& base, std::vector<std::shared_ptr<uint8_t[]>>& owned) const {
    const gguf::TensorInfo& ta = *file_->find_tensor(base.name + kA);
    const gguf::TensorInfo& tb = *file_->find_tensor(base.name + kB);
    const int64_t rank = ta.shape[1];
    if (ta.shape[0] != base.cols || tb.shape[1] != base.rows)
        throw gguf::FormatError("adapter tensors of '" + base.name + "' do not fit its shape [" + std::to_string(base.cols) + ", " +
                                std::to_string(base.rows) + "]");
    if (base.layout != WeightLayout::Rows) throw std::logic_error("LoRA merges before matrices are repacked");
    const float scale = alpha_ != 0.0f ? alpha_ / static_cast<float>(rank) : 1.0f;
    const std::vector<float> a = as_floats(ta), b = as_floats(tb);  // A: rank rows of n_in; B: n_out rows of rank
    auto bytes = std::shared_ptr<uint8_t[]>(new uint8_t[base.row_bytes * static_cast<size_t>(base.rows)]);
    std::vector<float> row(static_cast<size_t>(base.cols));
    for (int64_t r = 0; r < base.rows; ++r) {
        quant::dequantize_row(base.type, base.row(r), row.data(), base.cols);
        for (int64_t k = 0; k < rank; ++k) {
            const float w = scale * b[static_cast<size_t>(r * rank + k)];
            const float* a_row = a.data() + k * base.cols;
            for (int64_t i = 0; i < base.cols; ++i) row[static_cast<size_t>(i)] += w * a_row[i];
        }
        quant::quantize_row(base.type, row.data(), bytes.get() + static_cast<size_t>(r) * base.row_bytes, base.cols);
    }
    WeightMatrix out = base;
    out.data = bytes.get();
    owned.push_back(std::move(bytes));
    return out;
}

}  // namespace rockllm
