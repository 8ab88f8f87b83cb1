// Byte-level BPE against llama.cpp's expected encodings for every BPE vocabulary in the test data.
#include <doctest/doctest.h>

#include "llm/gguf.h"
#include "test_support.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/hf_tokenizer_json.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/tokenizer.h"

#include <filesystem>
#include <fstream>
#include <set>

namespace test_tokenizer_bpe {

using namespace rockllm;
using rockllm::test::testdata;

namespace {

void check_bpe_vocabulary(const std::string& name) {
    CAPTURE(name);
    const std::string path = testdata("vocab/ggml-vocab-" + name + ".gguf");
    const auto tokenizer = load_tokenizer(gguf::File::open(path));
    const auto inputs = test::read_vocab_test_inputs(path + ".inp");
    const auto expected = test::read_vocab_test_outputs(path + ".out");
    REQUIRE(inputs.size() == 46);
    REQUIRE(expected.size() == inputs.size());
    int failures = 0;
    for (size_t i = 0; i < inputs.size(); ++i) {
        CAPTURE(i);
        CAPTURE(inputs[i]);
        const auto ids = tokenizer->encode(inputs[i], false, false);
        if (ids != expected[i]) ++failures;
        CHECK(ids == expected[i]);
        // Byte-level BPE loses nothing: decoding gives the text back.
        CHECK(tokenizer->decode(ids) == inputs[i]);
    }
    CHECK(failures == 0);
}

}  // namespace

TEST_SUITE_BEGIN("unit");

TEST_CASE("BPE tokenizer: GPT-2 vocabulary") { check_bpe_vocabulary("gpt-2"); }
TEST_CASE("BPE tokenizer: MPT vocabulary") { check_bpe_vocabulary("mpt"); }
TEST_CASE("BPE tokenizer: StarCoder vocabulary") { check_bpe_vocabulary("starcoder"); }
TEST_CASE("BPE tokenizer: Refact vocabulary") { check_bpe_vocabulary("refact"); }
TEST_CASE("BPE tokenizer: Falcon vocabulary") { check_bpe_vocabulary("falcon"); }
TEST_CASE("BPE tokenizer: DeepSeek Coder vocabulary") { check_bpe_vocabulary("deepseek-coder"); }
TEST_CASE("BPE tokenizer: DeepSeek LLM vocabulary") { check_bpe_vocabulary("deepseek-llm"); }

TEST_CASE("BPE byte mapping is a bijection onto printable characters") {
    const auto& table = byte_to_unicode();
    std::set<std::string> distinct(table.begin(), table.end());
    CHECK(distinct.size() == 256);
    CHECK(table['A'] == "A");
    CHECK(table[' '] == "\xC4\xA0");   // U+0120 'Ġ'
    CHECK(table['\n'] == "\xC4\x8A");  // U+010A 'Ċ'
}

TEST_CASE("BPE pre-tokenizer: unknown names are an error, invalid UTF-8 is kept, not dropped") {
    CHECK_THROWS_WITH(PreTokenizer("no-such-pre"), doctest::Contains("no-such-pre"));
    const PreTokenizer gpt2("gpt-2");
    const std::string text = "ab\xFF\xFE cd";
    std::string joined;
    for (const auto& piece : gpt2.split(text)) joined += piece;
    CHECK(joined == text);
    const auto tok = load_tokenizer(gguf::File::open(testdata("vocab/ggml-vocab-gpt-2.gguf")));
    CHECK(tok->decode(tok->encode(text, false, false)) == text);
}

namespace {

// tokenizer.json files fetched by tools/fetch-hf-tokenizers.sh (run-tests.sh does it).
std::string hf_tokenizer(const std::string& name) {
    const std::string path = std::string(ROCKLLM_HF_TOKENIZERS_DIR) + "/" + name + "/tokenizer.json";
    if (!std::filesystem::exists(path))
        throw std::runtime_error(path + " is missing: run tools/fetch-hf-tokenizers.sh " ROCKLLM_HF_TOKENIZERS_DIR);
    return path;
}

void check_hf_vectors(const std::string& json_name, const std::string& vectors, const std::string& expected_pre) {
    Vocabulary vocab = read_hf_tokenizer_json(hf_tokenizer(json_name));
    CHECK(vocab.pre == expected_pre);
    const auto tokenizer = make_tokenizer(std::move(vocab));
    const auto inputs = test::read_vocab_test_inputs(testdata("vocab/ggml-vocab-" + vectors + ".gguf.inp"));
    const auto expected = test::read_vocab_test_outputs(testdata("vocab/ggml-vocab-" + vectors + ".gguf.out"));
    REQUIRE(inputs.size() == expected.size());
    for (size_t i = 0; i < inputs.size(); ++i) {
        CAPTURE(i);
        CAPTURE(inputs[i]);
        CHECK(tokenizer->encode(inputs[i], false, false) == expected[i]);
    }
}

}  // namespace

TEST_CASE("BPE tokenizer: Llama 3 (llama-bpe) vectors through its tokenizer.json") {
    check_hf_vectors("llama3", "llama-bpe", "llama-bpe");
}

TEST_CASE("BPE tokenizer: Qwen2 vectors through the Qwen3 tokenizer.json") {
    check_hf_vectors("qwen3", "qwen2", "qwen2");
}

TEST_CASE("tokenizer.json import: bad files are clear errors") {
    test::ScratchDir dir;
    CHECK_THROWS_WITH(read_hf_tokenizer_json(dir.file("missing.json")), doctest::Contains("cannot open"));
    { std::ofstream(dir.file("bad.json")) << "{not json"; }
    CHECK_THROWS_WITH(read_hf_tokenizer_json(dir.file("bad.json")), doctest::Contains("not valid JSON"));
    { std::ofstream(dir.file("wordpiece.json")) << R"({"model": {"type": "WordPiece", "vocab": {}}})"; }
    CHECK_THROWS_WITH(read_hf_tokenizer_json(dir.file("wordpiece.json")), doctest::Contains("only BPE"));
    { std::ofstream(dir.file("nomerges.json")) << R"({"model": {"type": "BPE", "vocab": {"a": 0}}})"; }
    CHECK_THROWS_WITH(read_hf_tokenizer_json(dir.file("nomerges.json"), "gpt2"), doctest::Contains("merges"));
}

TEST_SUITE_END();

}  // namespace test_tokenizer_bpe
