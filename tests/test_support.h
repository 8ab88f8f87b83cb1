// Helpers shared by the unit tests: reference data paths, file reading, scratch directories.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "llm/ggml_type.h"
#include "llm/gguf.h"

namespace rockllm::test {

// A path under ../shared/testdata; throws (failing the test) when the file is missing, so that a
// test can never pass by skipping its reference data.
std::string testdata(const std::string& relative);
// n normally distributed floats of standard deviation scale, and a row of them in a GGUF type.
std::vector<float> random_floats(int64_t n, std::mt19937& rng, float scale);
std::vector<uint8_t> quantized(GgmlType type, const std::vector<float>& x);
std::string read_text(const std::string& path);
std::vector<uint8_t> read_bytes(const std::string& path);

// A fresh directory removed again when the object goes away.
class ScratchDir {
public:
    ScratchDir();
    ~ScratchDir();
    const std::filesystem::path& path() const { return path_; }
    std::string file(const std::string& name) const { return (path_ / name).string(); }

private:
    std::filesystem::path path_;
};

// One server-sent event: the name its "event:" line gave ("" for none) and its "data:" line.
struct SseEvent {
    std::string name;
    std::string data;
};
// The events of a text/event-stream body, in order; a line that is neither event, data nor blank
// fails the test.
std::vector<SseEvent> sse_events(const std::string& body);

// Splits llama.cpp tokenizer test files: strings separated by "\n__ggml_vocab_test__\n".
std::vector<std::string> read_vocab_test_inputs(const std::string& path);
// One line of space-separated ids per test string.
std::vector<std::vector<int32_t>> read_vocab_test_outputs(const std::string& path);

// A GGUF tensor as float64 rows, dequantized once: the weights of the tests' float64 reference passes
// (a 3-D tensor's matrices follow one another).
struct Matrix64 {
    int64_t cols = 0, rows = 0;
    std::vector<double> data;
    const double* row(int64_t r) const { return &data[r * cols]; }
};
// Fails the test when the file has no such tensor.
Matrix64 read_matrix64(const gguf::File& f, const std::string& name);
// Rows [first, first + count) of a fused tensor.
Matrix64 rows_of(const Matrix64& m, int64_t first, int64_t count);
std::vector<double> matvec(const Matrix64& w, const std::vector<double>& x);

// A LoRA adapter for a base model, as llama.cpp's converter lays it out: random lora_a
// [n_in, rank] and lora_b [rank, n_out] (F32) for each (tensor, rank).
struct LoraTestAdapter {
    std::map<std::string, std::pair<std::vector<float>, std::vector<float>>> ab;  // A: rank x n_in, B: n_out x rank
    std::vector<uint8_t> bytes;                                                   // the adapter GGUF
};
LoraTestAdapter make_lora_adapter(const gguf::File& base, const std::vector<std::pair<std::string, int64_t>>& pairs, float alpha,
                                  const std::string& arch = "llama");
// The F32 base file with W + alpha/rank * B*A in each adapted tensor (sums in double precision).
std::vector<uint8_t> merged_by_hand(const gguf::File& base, const LoraTestAdapter& adapter, float alpha);

}  // namespace rockllm::test
