#include "test_support.h"

#include "llm/gguf_writer.h"
#include "llm/quant/quantize.h"

#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <unistd.h>

namespace rockllm::test {

std::vector<float> random_floats(int64_t n, std::mt19937& rng, float scale) {
    std::normal_distribution<float> normal(0.0f, scale);
    std::vector<float> x(static_cast<size_t>(n));
    for (float& v : x) v = normal(rng);
    return x;
}

std::vector<uint8_t> quantized(GgmlType type, const std::vector<float>& x) {
    const GgmlTypeInfo& info = ggml_type_info(type);
    std::vector<uint8_t> out(x.size() / info.block_size * info.block_bytes);
    quant::quantize_row(type, x.data(), out.data(), static_cast<int64_t>(x.size()));
    return out;
}

Matrix64 read_matrix64(const gguf::File& f, const std::string& name) {
    const gguf::TensorInfo* t = f.find_tensor(name);
    if (!t) throw std::runtime_error("the file has no tensor '" + name + "'");
    Matrix64 m;
    m.cols = t->shape[0];
    m.rows = 1;  // a 3-D tensor's matrices one after the other
    for (size_t d = 1; d < t->shape.size(); ++d) m.rows *= t->shape[d];
    std::vector<float> row(static_cast<size_t>(m.cols));
    const size_t row_bytes = t->size_bytes / static_cast<size_t>(m.rows);
    m.data.reserve(static_cast<size_t>(m.cols * m.rows));
    for (int64_t r = 0; r < m.rows; ++r) {
        quant::dequantize_row(t->type, t->data + r * row_bytes, row.data(), m.cols);
        m.data.insert(m.data.end(), row.begin(), row.end());
    }
    return m;
}

Matrix64 rows_of(const Matrix64& m, int64_t first, int64_t count) {
    Matrix64 out;
    out.cols = m.cols;
    out.rows = count;
    out.data.assign(m.data.begin() + first * m.cols, m.data.begin() + (first + count) * m.cols);
    return out;
}

std::vector<double> matvec(const Matrix64& w, const std::vector<double>& x) {
    std::vector<double> y(static_cast<size_t>(w.rows));
    for (int64_t r = 0; r < w.rows; ++r) {
        double s = 0;
        for (int64_t i = 0; i < w.cols; ++i) s += w.row(r)[i] * x[i];
        y[r] = s;
    }
    return y;
}

std::string testdata(const std::string& relative) {
    const std::filesystem::path path = std::filesystem::path(ROCKLLM_TESTDATA_DIR) / relative;
    if (!std::filesystem::exists(path))
        throw std::runtime_error("reference test data missing: " + path.string() +
                                 " (configure with -DROCKLLM_TESTDATA_DIR=...)");
    return path.string();
}

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::vector<uint8_t> read_bytes(const std::string& path) {
    const std::string text = read_text(path);
    return std::vector<uint8_t>(text.begin(), text.end());
}

ScratchDir::ScratchDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "rockllm-test-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
}

ScratchDir::~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

std::vector<std::string> read_vocab_test_inputs(const std::string& path) {
    const std::string text = read_text(path);
    const std::string separator = "\n__ggml_vocab_test__\n";
    std::vector<std::string> out;
    size_t start = 0;
    for (size_t hit = text.find(separator); hit != std::string::npos; hit = text.find(separator, start)) {
        out.push_back(text.substr(start, hit - start));
        start = hit + separator.size();
    }
    if (start != text.size()) throw std::runtime_error(path + " does not end with the test separator");
    return out;
}

std::vector<SseEvent> sse_events(const std::string& body) {
    std::vector<SseEvent> out;
    std::istringstream lines(body);
    std::string name;
    for (std::string line; std::getline(lines, line);) {
        if (line.empty()) name.clear();  // a blank line ends an event
        else if (line.rfind("event: ", 0) == 0) name = line.substr(7);
        else if (line.rfind("data: ", 0) == 0) out.push_back({name, line.substr(6)});
        else throw std::runtime_error("not a server-sent event line: " + line);
    }
    return out;
}

std::vector<std::vector<int32_t>> read_vocab_test_outputs(const std::string& path) {
    std::istringstream in(read_text(path));
    std::vector<std::vector<int32_t>> out;
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream ids(line);
        std::vector<int32_t> row;
        int32_t id;
        while (ids >> id) row.push_back(id);
        out.push_back(std::move(row));
    }
    return out;
}

LoraTestAdapter make_lora_adapter(const gguf::File& base, const std::vector<std::pair<std::string, int64_t>>& pairs, float alpha,
                                  const std::string& arch) {
    std::mt19937 rng(7);
    std::normal_distribution<float> normal(0.0f, 0.05f);
    gguf::Writer w;
    w.set("general.architecture", arch);
    w.set("general.type", "adapter");
    w.set("adapter.type", "lora");
    w.set("adapter.lora.alpha", alpha);
    LoraTestAdapter out;
    for (const auto& [tensor, rank] : pairs) {
        const gguf::TensorInfo* t = base.find_tensor(tensor);
        if (!t) throw std::invalid_argument("no tensor " + tensor);
        const int64_t n_in = t->shape[0], n_out = t->shape[1];
        std::vector<float> a(static_cast<size_t>(rank * n_in)), b(static_cast<size_t>(n_out * rank));
        for (float& v : a) v = normal(rng);
        for (float& v : b) v = normal(rng);
        w.add_tensor_f32(tensor + ".lora_a", {n_in, rank}, a);
        w.add_tensor_f32(tensor + ".lora_b", {rank, n_out}, b);
        out.ab[tensor] = {a, b};
    }
    out.bytes = w.to_bytes();
    return out;
}

std::vector<uint8_t> merged_by_hand(const gguf::File& base, const LoraTestAdapter& adapter, float alpha) {
    gguf::Writer w;
    for (const auto& [key, value] : base.metadata().entries()) w.set(key, value);
    for (const gguf::TensorInfo& t : base.tensors()) {
        if (t.type != GgmlType::F32) throw std::invalid_argument("merged_by_hand reads F32 models");
        std::vector<float> values(static_cast<size_t>(t.element_count()));
        std::memcpy(values.data(), t.data, t.size_bytes);
        if (const auto it = adapter.ab.find(t.name); it != adapter.ab.end()) {
            const auto& [a, b] = it->second;
            const int64_t n_in = t.shape[0], n_out = t.shape[1], rank = static_cast<int64_t>(a.size()) / n_in;
            for (int64_t o = 0; o < n_out; ++o)
                for (int64_t i = 0; i < n_in; ++i) {
                    double sum = 0;
                    for (int64_t k = 0; k < rank; ++k) sum += double(b[o * rank + k]) * a[k * n_in + i];
                    values[o * n_in + i] += static_cast<float>(alpha / rank * sum);
                }
        }
        w.add_tensor_f32(t.name, t.shape, values);
    }
    return w.to_bytes();
}

}  // namespace rockllm::test
