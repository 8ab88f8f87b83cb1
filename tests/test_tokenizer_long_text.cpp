// Tokenizing only the used part of a long text: the tokens that count equal those of the whole
// text's encoding, for a SentencePiece and two byte-level BPE vocabularies.
#include <doctest/doctest.h>

#include "llm/gguf.h"
#include "test_support.h"
#include "tokenizer/hf_tokenizer_json.h"
#include "tokenizer/long_text.h"
#include "tokenizer/tokenizer.h"

namespace test_tokenizer_long_text {

using namespace rockllm;
using rockllm::test::testdata;

namespace {

// A long text of varied lines: llama.cpp's tokenizer test inputs (spaces, digits, CJK, emoji,
// code), numbered so that no stretch repeats, with the vocabulary's special token text in it.
std::string long_text(const Tokenizer& tokenizer, size_t bytes) {
    const auto inputs = test::read_vocab_test_inputs(testdata("vocab/ggml-vocab-gpt-2.gguf.inp"));
    const std::string special = tokenizer.vocabulary().eos_id ? tokenizer.token_to_piece(*tokenizer.vocabulary().eos_id, true) : "";
    std::string text;
    for (size_t i = 0; text.size() < bytes; ++i) text += inputs[i % inputs.size()] + " " + std::to_string(i) + (i % 7 == 0 ? special : "") + "\n";
    return text;
}

void check_long_text(const std::unique_ptr<Tokenizer>& tokenizer) {
    const size_t longest = longest_piece_bytes(*tokenizer);
    CHECK(longest >= 2);
    const size_t wanted = 200;
    const std::string text = long_text(*tokenizer, 12 * (wanted + 16) * longest);  // several times the tail looked at
    const std::vector<int32_t> whole = tokenizer->encode(text, /*add_special=*/true, /*parse_special=*/true);
    REQUIRE(whole.size() > 4 * wanted);

    // The end: the first token, then more than `wanted` tokens whose last `wanted` are the whole's.
    const std::vector<int32_t> end = encode_keeping_end(*tokenizer, text, wanted, longest);
    CHECK(end.size() < whole.size() / 2);  // only a part was tokenized
    REQUIRE(end.size() > wanted);
    CHECK(end.front() == whole.front());
    CHECK(std::equal(end.end() - wanted, end.end(), whole.end() - wanted));

    // The start: more than `wanted` tokens whose first `wanted` are the whole's.
    const std::vector<int32_t> start = encode_keeping_start(*tokenizer, text, wanted, longest);
    CHECK(start.size() < whole.size() / 2);
    REQUIRE(start.size() > wanted);
    CHECK(std::equal(start.begin(), start.begin() + wanted, whole.begin()));

    // A text cut to its ends before it is rendered keeps the same tokens where they count.
    const std::string shortened = shorten_keeping_ends(text, 4 * (wanted + 64) * longest);
    CHECK(shortened.size() < text.size());
    const std::vector<int32_t> from_shortened = encode_keeping_end(*tokenizer, shortened, wanted, longest);
    CHECK(from_shortened.front() == whole.front());
    CHECK(std::equal(from_shortened.end() - wanted, from_shortened.end(), whole.end() - wanted));

    // Short texts are tokenized whole.
    const std::string short_text = text.substr(0, 100);
    CHECK(encode_keeping_end(*tokenizer, short_text, wanted, longest) == tokenizer->encode(short_text, true, true));
    CHECK(encode_keeping_start(*tokenizer, short_text, wanted, longest) == tokenizer->encode(short_text, true, true));
}

}  // namespace

TEST_SUITE_BEGIN("unit");

TEST_CASE("long texts: SentencePiece (stories260K) tokens of the used ends equal the whole text's") {
    check_long_text(load_tokenizer(gguf::File::open(testdata("models/stories260K.gguf"))));
}

TEST_CASE("long texts: byte-level BPE (GPT-2, Qwen3) tokens of the used ends equal the whole text's") {
    check_long_text(load_tokenizer(gguf::File::open(testdata("vocab/ggml-vocab-gpt-2.gguf"))));
    // tokenizer.json files fetched by tools/fetch-hf-tokenizers.sh (run-tests.sh does it).
    check_long_text(make_tokenizer(read_hf_tokenizer_json(std::string(ROCKLLM_HF_TOKENIZERS_DIR) + "/qwen3/tokenizer.json")));
}

TEST_CASE("long texts: cuts fall on character boundaries") {
    std::string text = std::string(10000, 'a');
    for (int i = 0; i < 20000; ++i) text += "\xc3\xa9";  // é, two bytes
    const std::string cut = shorten_keeping_ends(text, 20001);
    CHECK(cut.size() <= 20001);
    CHECK(cut.compare(0, 4096, std::string(4096, 'a')) == 0);
    CHECK((static_cast<unsigned char>(cut[4096]) & 0xC0) != 0x80);  // the tail starts on a character
    CHECK(cut.size() % 2 == 0);  // 4096 'a's and whole é's
}

TEST_SUITE_END();

}  // namespace test_tokenizer_long_text
