#include <doctest/doctest.h>

#include <algorithm>

#include "llm/gguf.h"
#include "test_support.h"
#include "tokenizer/spm_tokenizer.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8_stream.h"

namespace test_tokenizer_spm {

using namespace rockllm;
using rockllm::test::testdata;

namespace {

std::unique_ptr<Tokenizer> tokenizer_from(const std::string& gguf_path) {
    return load_tokenizer(gguf::File::open(gguf_path));
}

// Checks every line of llama.cpp's expected encodings (no BOS, special tokens not parsed).
void check_vectors(const std::string& gguf_path, const std::string& vectors_path) {
    const auto tokenizer = tokenizer_from(gguf_path);
    const auto inputs = test::read_vocab_test_inputs(vectors_path + ".inp");
    const auto expected = test::read_vocab_test_outputs(vectors_path + ".out");
    REQUIRE(inputs.size() == 46);
    REQUIRE(expected.size() == inputs.size());
    for (size_t i = 0; i < inputs.size(); ++i) {
        CAPTURE(i);
        CAPTURE(inputs[i]);
        CHECK(tokenizer->encode(inputs[i], false, false) == expected[i]);
    }
}

}  // namespace

TEST_SUITE_BEGIN("unit");

TEST_CASE("SentencePiece tokenizer: llama.cpp vectors for stories260K") {
    check_vectors(testdata("models/stories260K.gguf"), testdata("models/stories260K.gguf"));
}

TEST_CASE("SentencePiece tokenizer: llama.cpp vectors for the Llama 2 vocabulary") {
    check_vectors(testdata("vocab/ggml-vocab-llama-spm.gguf"), testdata("vocab/ggml-vocab-llama-spm.gguf"));
}

TEST_CASE("SentencePiece tokenizer: llama.cpp vectors for the Phi-3 vocabulary") {
    check_vectors(testdata("vocab/ggml-vocab-phi-3.gguf"), testdata("vocab/ggml-vocab-phi-3.gguf"));
}

TEST_CASE("SentencePiece tokenizer: llama-2-tiny-random carries the Llama 2 vocabulary") {
    // Its vocabulary is the Llama 2 one (testdata README), so llama.cpp's Llama 2 vectors apply.
    check_vectors(testdata("models/llama-2-tiny-random.gguf"), testdata("vocab/ggml-vocab-llama-spm.gguf"));
}

TEST_CASE("SentencePiece tokenizer: special tokens, BOS and decoding") {
    const auto tok = tokenizer_from(testdata("models/stories260K.gguf"));
    const Vocabulary& v = tok->vocabulary();
    REQUIRE(v.bos_id == 1);
    REQUIRE(v.eos_id == 2);
    CHECK(v.add_bos);

    // The prompt of the reference generation.
    CHECK(tok->encode("Once upon a time", true, false) == std::vector<int32_t>{1, 403, 407, 261, 378});
    CHECK(tok->encode("", true, false) == std::vector<int32_t>{1});
    CHECK(tok->encode("", false, false).empty());

    // "<s>" is text unless special tokens are parsed; text after a special token gets its own leading space.
    const auto as_text = tok->encode("<s>Once", false, false);
    CHECK(std::find(as_text.begin(), as_text.end(), 1) == as_text.end());
    const auto parsed = tok->encode("<s>Once", false, true);
    REQUIRE(parsed.size() >= 2);
    CHECK(parsed[0] == 1);
    CHECK(std::vector<int32_t>(parsed.begin() + 1, parsed.end()) == tok->encode("Once", false, false));

    CHECK(tok->token_to_piece(1).empty());
    CHECK(tok->token_to_piece(1, true) == "<s>");
    CHECK(tok->token_to_piece(403) == " Once");
    CHECK(tok->token_to_piece(3 + 0x41) == "A");  // byte token <0x41>
    CHECK_THROWS_AS(tok->token_to_piece(512), std::out_of_range);
    CHECK_THROWS_AS(tok->token_to_piece(-1), std::out_of_range);

    // Decoding inverts encoding for the test strings that the leading-space rule does not touch.
    for (const char* text : {"Once upon a time", "Hello world", "Führer 🦙 and 3.14"}) {
        CHECK(tok->decode(tok->encode(text, true, false)) == text);
    }
}

TEST_CASE("SentencePiece tokenizer: decode round-trips every Llama 2 test string") {
    const auto tok = tokenizer_from(testdata("vocab/ggml-vocab-llama-spm.gguf"));
    for (const std::string& text : test::read_vocab_test_inputs(testdata("vocab/ggml-vocab-llama-spm.gguf.inp"))) {
        CAPTURE(text);
        // Encoding puts a space in front; decoding takes exactly that space away again.
        CHECK(tok->decode(tok->encode(text, false, false)) == text);
    }
}

TEST_CASE("SentencePiece model proto: pieces that SentencePiece would refuse keep their ids") {
    Vocabulary v;
    v.model = "llama";
    v.tokens = {"<unk>", "<s>", "</s>", "a", "a", "", "b"};
    v.scores = {0, 0, 0, -1, -2, -3, -4};
    v.types = {TokenType::Unknown, TokenType::Control, TokenType::Control, TokenType::Normal,
               TokenType::Normal,  TokenType::Normal,  TokenType::Normal};
    v.bos_id = 1;
    v.eos_id = 2;
    v.unk_id = 0;
    SpmTokenizer tok(v);
    CHECK(tok.encode("ab", false, false) == std::vector<int32_t>{0, 3, 6});  // "▁" is unknown here
    v.types[0] = TokenType::Normal;
    v.unk_id.reset();
    CHECK_THROWS_WITH(SpmTokenizer{v}, doctest::Contains("unknown"));
}

TEST_CASE("the model's and the tokenizer's vocabulary sizes must agree") {
    const auto tok = tokenizer_from(testdata("models/stories260K.gguf"));
    CHECK_NOTHROW(check_vocabulary_size(*tok, 512));
    CHECK_THROWS_WITH_AS(check_vocabulary_size(*tok, 511), doctest::Contains("511"), gguf::FormatError);
}

TEST_CASE("tokenizer factory: unsupported kinds are a clear error") {
    Vocabulary rwkv;  // RWKV's trie tokenizer ("rwkv") is not read
    rwkv.model = "rwkv";
    rwkv.tokens = {"<pad>", "a"};
    rwkv.types = {TokenType::Control, TokenType::Normal};
    rwkv.scores = {0.0f, -1.0f};
    CHECK_THROWS_WITH(make_tokenizer(rwkv), doctest::Contains("'rwkv'"));
}

TEST_CASE("UTF-8 stream holds back split characters") {
    Utf8Stream s;
    CHECK(s.push("a\xF0\x9F") == "a");  // first half of U+1F999
    CHECK(s.push("\xA6") == "");
    CHECK(s.push("\x99!") == "\xF0\x9F\xA6\x99!");
    CHECK(s.push("\xC3") == "");
    CHECK(s.flush() == "\xC3");
    CHECK(s.push("\x80x") == "\x80x");  // a stray continuation byte is passed on, not held forever
    CHECK(complete_utf8_prefix("\xE2\x96") == 0);
    CHECK(complete_utf8_prefix("\xE2\x96\x81") == 3);
}

TEST_SUITE_END();

}  // namespace test_tokenizer_spm
