// WordPiece (BERT) against the expected encodings of the bge vocabulary in the test data (Hugging
// Face's BertTokenizer, as llama.cpp's test vectors record it), and the pieces around it: special
// tokens, the unknown token, accents, decoding.
#include <doctest/doctest.h>

#include "llm/gguf.h"
#include "test_support.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode_data.h"
#include "tokenizer/wordpiece_tokenizer.h"

namespace test_tokenizer_wordpiece {

using namespace rockllm;
using rockllm::test::testdata;

namespace {

const Tokenizer& bge() {
    static const auto tokenizer = load_tokenizer(gguf::File::open(testdata("vocab/ggml-vocab-bert-bge.gguf")));
    return *tokenizer;
}

std::string utf8_of(const std::vector<uint32_t>& word) {
    std::string s;
    for (uint32_t c : word) unicode::append_utf8(s, c);
    return s;
}

}  // namespace

TEST_SUITE_BEGIN("unit");

TEST_CASE("WordPiece tokenizer: the bge vocabulary's expected encodings") {
    const std::string path = testdata("vocab/ggml-vocab-bert-bge.gguf");
    const auto inputs = test::read_vocab_test_inputs(path + ".inp");
    const auto expected = test::read_vocab_test_outputs(path + ".out");
    REQUIRE(inputs.size() == 46);
    REQUIRE(expected.size() == inputs.size());
    int failures = 0;
    for (size_t i = 0; i < inputs.size(); ++i) {
        CAPTURE(i);
        CAPTURE(inputs[i]);
        const auto ids = bge().encode(inputs[i], false, false);
        if (ids != expected[i]) ++failures;
        CHECK(ids == expected[i]);
    }
    CHECK(failures == 0);
}

TEST_CASE("WordPiece tokenizer: [CLS] and [SEP] around an input, special tokens in text, decoding") {
    const Vocabulary& v = bge().vocabulary();
    REQUIRE(v.bos_id == 101);
    REQUIRE(v.sep_id == 102);
    REQUIRE(v.unk_id == 100);
    CHECK(bge().encode("Hello world", true, false) == std::vector<int32_t>{101, 7592, 2088, 102});
    // "[SEP]" in text is the token only when special tokens are parsed.
    CHECK(bge().encode("a[SEP]b", false, true) == std::vector<int32_t>{1037, 102, 1038});
    CHECK(bge().encode("a[SEP]b", false, false).size() == 5);  // a [ sep ] b
    // Pieces decode to words again (lowercased, accents gone): "##" pieces join their word.
    CHECK(bge().decode(bge().encode("The Führer's dog, and éclairs!", true, false)) == "the fuhrer ' s dog , and eclairs !");
}

TEST_CASE("WordPiece tokenizer: a word with no pieces or longer than 100 characters is one unknown token") {
    CHECK(bge().encode("hello \xF0\x9F\xA6\x99 world", false, false) == std::vector<int32_t>{7592, 100, 2088});
    const std::string long_word(101, 'a');
    CHECK(bge().encode(long_word, false, false) == std::vector<int32_t>{100});
    CHECK(bge().encode(std::string(100, 'a'), false, false).size() > 1);  // a hundred still splits into pieces
}

TEST_CASE("WordPiece words: clean-up, accents, lowercase, punctuation and CJK split as BERT's normalizer") {
    const auto words = [](std::string_view text) {
        std::vector<std::string> out;
        for (const auto& w : bert_words(text)) out.push_back(utf8_of(w));
        return out;
    };
    CHECK(words("  Hello,\tWORLD!\n") == std::vector<std::string>{"hello", ",", "world", "!"});
    CHECK(words("Crème BRÛLÉE") == std::vector<std::string>{"creme", "brulee"});
    CHECK(words("e\xCC\x81t\xC3\xA9") == std::vector<std::string>{"ete"});  // a combining accent and a precomposed one
    CHECK(words("a\xE2\x80\x8D" "b\x01" "c") == std::vector<std::string>{"abc"});  // ZWJ and a control character dropped
    CHECK(words("我想apple") == std::vector<std::string>{"我", "想", "apple"});
    CHECK(words("$5+3=8") == std::vector<std::string>{"$", "5", "+", "3", "=", "8"});  // ASCII symbols count as punctuation
    CHECK(words("\xED\x95\x9C") == std::vector<std::string>{"\xE1\x84\x92\xE1\x85\xA1\xE1\x86\xAB"});  // 한: its jamo
    CHECK(words("\xFF" "ok") == std::vector<std::string>{"ok"});  // invalid UTF-8 dropped
    CHECK(words("").empty());
}

TEST_SUITE_END();

}  // namespace test_tokenizer_wordpiece
