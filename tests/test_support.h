// Helpers shared by the unit tests: reference data paths, file reading, scratch directories.
#pragma once

#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "llm/ggml_type.h"

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

// Splits llama.cpp tokenizer test files: strings separated by "\n__ggml_vocab_test__\n".
std::vector<std::string> read_vocab_test_inputs(const std::string& path);
// One line of space-separated ids per test string.
std::vector<std::vector<int32_t>> read_vocab_test_outputs(const std::string& path);

}  // namespace rockllm::test
