// Replays every fuzz target over the inputs kept in tests/fuzz/regressions (hostile inputs written
// by hand and anything fuzzing found) and over seeds taken from the test data (truncations of a real
// GGUF, the tokenizer test texts, the real templates). A target returns normally for every input;
// under the sanitizer build (tools/run-tests.sh --sanitize) any memory error or undefined behaviour
// on the way fails the run too.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "fuzz/fuzz_targets.h"
#include "test_support.h"

namespace test_fuzz_regressions {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> files_in(const fs::path& dir) {
    std::vector<std::string> out;
    if (!fs::is_directory(dir)) return out;
    for (const auto& entry : fs::directory_iterator(dir))
        if (entry.is_regular_file()) out.push_back(rockllm::test::read_text(entry.path().string()));
    return out;
}

// Seeds from ../shared/testdata, per target.
std::vector<std::string> testdata_seeds(const std::string& target) {
    using rockllm::test::testdata;
    std::vector<std::string> seeds;
    if (target == "gguf") {
        const std::string model = rockllm::test::read_text(testdata("models/stories260K.gguf"));
        for (size_t cut : {size_t{0}, size_t{4}, size_t{8}, size_t{23}, size_t{100}, size_t{1000}, size_t{4096}, model.size() / 2, model.size() - 1})
            seeds.push_back(model.substr(0, cut));
        seeds.push_back(model);
    } else if (target.starts_with("tokenizer_")) {
        const std::string vocabulary = target == "tokenizer_spm" ? "llama-spm" : target == "tokenizer_bpe" ? "gpt-2" : "bert-bge";
        const auto inputs = rockllm::test::read_vocab_test_inputs(testdata("vocab/ggml-vocab-" + vocabulary + ".gguf.inp"));
        seeds.insert(seeds.end(), inputs.begin(), inputs.end());
    } else if (target == "go_template") {
        for (const auto& entry : fs::directory_iterator(testdata("templates")))
            if (entry.path().extension() == ".gotmpl") seeds.push_back(rockllm::test::read_text(entry.path().string()));
    } else if (target == "jinja_template") {
        for (const auto& entry : fs::directory_iterator(testdata("templates/jinja"))) seeds.push_back(rockllm::test::read_text(entry.path().string()));
    }
    return seeds;
}

}  // namespace

TEST_SUITE_BEGIN("unit");

TEST_CASE("fuzz targets: kept regression inputs and test-data seeds run through every target without a crash") {
    const fs::path regressions = fs::path(ROCKLLM_SOURCE_DIR) / "tests" / "fuzz" / "regressions";
    std::map<std::string, size_t> counts;
    for (const rockllm::fuzz::Target& target : rockllm::fuzz::targets()) {
        std::vector<std::string> inputs = files_in(regressions / target.name);
        CAPTURE(target.name);
        REQUIRE_MESSAGE(!inputs.empty(), "every target keeps at least one input in tests/fuzz/regressions");
        for (std::string& seed : testdata_seeds(target.name)) inputs.push_back(std::move(seed));
        for (const std::string& input : inputs) {
            CAPTURE(input.substr(0, 200));
            CHECK(target.run(reinterpret_cast<const uint8_t*>(input.data()), input.size()) == 0);
        }
        counts[target.name] = inputs.size();
    }
    CHECK(counts.size() == 12);
    CHECK(counts["gguf"] >= 12);
    CHECK(counts["tokenizer_wordpiece"] >= 47);  // the kept input and the bge vocabulary's test texts
    CHECK(counts["go_template"] >= 20);
}

TEST_SUITE_END();

}  // namespace test_fuzz_regressions
