// Unigram ("t5") vocabularies, as T5 and XLM-RoBERTa (bge-m3) GGUFs carry them. No such vocabulary
// is in the test data, so the test makes one: it trains a small SentencePiece unigram model on this
// repository's documentation (NFKC normalization, XLM-R's special ids), writes its vocabulary into a
// GGUF as llama.cpp's converter does (pieces, scores, types, the precompiled character map and the
// normalizer's flags), and expects the GGUF's tokenizer to encode the 46 tokenizer test strings as
// SentencePiece does with the trained model; ASCII strings also against a unigram segmentation
// written here.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include "llm/gguf_writer.h"
#include "test_support.h"
#include "tokenizer/tokenizer.h"

namespace test_tokenizer_unigram {

using namespace rockllm;
using rockllm::test::testdata;

namespace {

uint64_t read_varint(std::string_view data, size_t& pos) {
    uint64_t value = 0;
    for (int shift = 0; pos < data.size(); shift += 7) {
        const auto byte = static_cast<uint8_t>(data[pos++]);
        value |= uint64_t(byte & 0x7F) << shift;
        if (byte < 0x80) break;
    }
    return value;
}

// The length-delimited field `number` of a serialized protobuf message ("" when absent); varint
// fields are returned as their value in *varint.
std::string proto_field(std::string_view message, uint32_t number, uint64_t* varint = nullptr) {
    std::string found;
    for (size_t pos = 0; pos < message.size();) {
        const uint64_t key = read_varint(message, pos);
        const uint32_t field = static_cast<uint32_t>(key >> 3), wire = key & 7;
        if (wire == 0) {
            const uint64_t v = read_varint(message, pos);
            if (field == number && varint) *varint = v;
        } else if (wire == 2) {
            const uint64_t length = read_varint(message, pos);
            if (field == number) found = std::string(message.substr(pos, length));
            pos += length;
        } else {
            pos += wire == 5 ? 4 : 8;
        }
    }
    return found;
}

struct Trained {
    sentencepiece::SentencePieceProcessor processor;
    std::string charsmap;                  // its normalizer's precompiled character map
    std::function<std::vector<uint8_t>(const std::string& charsmap)> gguf;  // its vocabulary, with a given map
    std::unique_ptr<Tokenizer> tokenizer;  // from the GGUF written for it
};

const Trained& trained() {
    static const std::unique_ptr<Trained> t = [] {
        test::ScratchDir dir;
        const std::string corpus = dir.file("corpus.txt");
        {
            std::vector<std::filesystem::path> docs = {std::filesystem::path(ROCKLLM_SOURCE_DIR) / "README.md"};
            for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(ROCKLLM_SOURCE_DIR) / "docs"))
                if (entry.path().extension() == ".md") docs.push_back(entry.path());
            std::sort(docs.begin(), docs.end());
            std::ofstream out(corpus);
            for (const auto& doc : docs) out << std::ifstream(doc).rdbuf() << '\n';
        }
        std::string proto;
        const auto status = sentencepiece::SentencePieceTrainer::Train(
            "--input=" + corpus +
                " --model_type=unigram --vocab_size=800 --normalization_rule_name=nmt_nfkc --character_coverage=1.0"
                " --num_threads=1 --bos_id=0 --pad_id=1 --eos_id=2 --unk_id=3 --minloglevel=2",
            nullptr, &proto);
        REQUIRE_MESSAGE(status.ok(), status.ToString());
        auto result = std::make_unique<Trained>();
        REQUIRE(result->processor.LoadFromSerializedProto(proto).ok());
        const sentencepiece::SentencePieceProcessor& sp = result->processor;

        // The vocabulary as llama.cpp's converter writes a T5 / XLM-RoBERTa one.
        std::vector<std::string> tokens;
        std::vector<float> scores;
        std::vector<int32_t> types;
        for (int i = 0; i < sp.GetPieceSize(); ++i) {
            tokens.push_back(sp.IdToPiece(i));
            scores.push_back(sp.GetScore(i));
            types.push_back(sp.IsUnknown(i) ? 2 : sp.IsControl(i) ? 3 : sp.IsUnused(i) ? 5 : sp.IsByte(i) ? 6 : 1);
        }
        const std::string normalizer = proto_field(proto, 3);  // ModelProto.normalizer_spec
        const std::string charsmap = proto_field(normalizer, 2);
        uint64_t dummy_prefix = 1, remove_whitespaces = 1;  // the proto's defaults
        proto_field(normalizer, 3, &dummy_prefix);
        proto_field(normalizer, 4, &remove_whitespaces);
        REQUIRE(charsmap.size() > 1000);  // NFKC's map is there
        result->charsmap = charsmap;
        result->gguf = [=](const std::string& map) {
        gguf::Writer w;
        w.set("general.architecture", "bert");
        w.set("tokenizer.ggml.model", "t5");
        w.set("tokenizer.ggml.tokens", gguf::make_array(tokens));
        w.set("tokenizer.ggml.scores", gguf::make_array(scores));
        w.set("tokenizer.ggml.token_type", gguf::make_array(types));
        w.set("tokenizer.ggml.precompiled_charsmap", gguf::make_array(std::vector<uint8_t>(map.begin(), map.end())));
        w.set("tokenizer.ggml.add_space_prefix", dummy_prefix != 0);
        w.set("tokenizer.ggml.remove_extra_whitespaces", remove_whitespaces != 0);
        w.set("tokenizer.ggml.bos_token_id", uint32_t{0});
        w.set("tokenizer.ggml.padding_token_id", uint32_t{1});
        w.set("tokenizer.ggml.eos_token_id", uint32_t{2});
        w.set("tokenizer.ggml.unknown_token_id", uint32_t{3});
        w.set("tokenizer.ggml.add_bos_token", true);
        w.set("tokenizer.ggml.add_eos_token", true);
        return w.to_bytes();
        };
        result->tokenizer = load_tokenizer(gguf::File::parse(result->gguf(charsmap)));
        return result;
    }();
    return *t;
}

std::vector<int32_t> sentencepiece_ids(const std::string& text) {
    std::vector<int> ids;
    REQUIRE(trained().processor.Encode(text, &ids).ok());
    return {ids.begin(), ids.end()};
}

// Unigram segmentation from the definition, for text that NFKC leaves alone (printable ASCII): the
// text's whitespace runs collapse to one space and its ends are trimmed, it gets a leading space,
// spaces become U+2581; then the split into pieces with the highest total score wins, a character
// no piece covers is the unknown token (scored 10 below the lowest piece), and unknowns in a row are
// one.
std::vector<int32_t> unigram_reference(const std::string& text) {
    const Vocabulary& v = trained().tokenizer->vocabulary();
    std::string words;
    for (char c : text) {
        const bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r';
        if (space) {
            if (!words.empty() && words.back() != ' ') words += ' ';
        } else {
            words += c;
        }
    }
    while (!words.empty() && words.back() == ' ') words.pop_back();
    if (words.empty()) return {};
    std::string s;
    for (char c : " " + words) s += c == ' ' ? std::string("\xe2\x96\x81") : std::string(1, c);
    std::map<std::string, int32_t> pieces;
    float lowest = 0;
    for (int32_t id = 0; id < v.size(); ++id)
        if (v.types[id] == TokenType::Normal) pieces[v.tokens[id]] = id, lowest = std::min(lowest, v.scores[id]);
    // best[i]: the best score of s[0, i); ends on character boundaries only.
    std::vector<double> best(s.size() + 1, -INFINITY);
    std::vector<std::pair<size_t, int32_t>> from(s.size() + 1);
    best[0] = 0;
    for (size_t i = 0; i < s.size(); ++i) {
        if (best[i] == -INFINITY) continue;
        const auto char_length = [&](size_t at) {
            const auto lead = static_cast<uint8_t>(s[at]);
            return lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
        };
        bool covered = false;
        for (size_t end = i + char_length(i); end <= s.size(); end += end < s.size() ? char_length(end) : 1) {
            auto it = pieces.find(s.substr(i, end - i));
            if (it != pieces.end()) {
                covered |= end == i + char_length(i);
                if (best[i] + v.scores[it->second] > best[end]) best[end] = best[i] + v.scores[it->second], from[end] = {i, it->second};
            }
            if (end == s.size()) break;
        }
        const size_t next = i + char_length(i);
        if (!covered && best[i] + lowest - 10 > best[next]) best[next] = best[i] + lowest - 10, from[next] = {i, *v.unk_id};
    }
    std::vector<int32_t> ids;
    for (size_t end = s.size(); end > 0; end = from[end].first) ids.insert(ids.begin(), from[end].second);
    std::vector<int32_t> merged;
    for (int32_t id : ids)
        if (!(id == *v.unk_id && !merged.empty() && merged.back() == id)) merged.push_back(id);
    return merged;
}

bool printable_ascii(const std::string& text) {
    for (char c : text)
        if (!((c >= 0x20 && c < 0x7F) || c == '\t' || c == '\n')) return false;
    return true;
}

}  // namespace

TEST_SUITE_BEGIN("unit");

TEST_CASE("unigram tokenizer: the tokenizer test strings encode as SentencePiece encodes them with the trained model") {
    const auto inputs = test::read_vocab_test_inputs(testdata("vocab/ggml-vocab-bert-bge.gguf.inp"));
    REQUIRE(inputs.size() == 46);
    int failures = 0, ascii = 0;
    for (const std::string& text : inputs) {
        CAPTURE(text);
        const std::vector<int32_t> ids = trained().tokenizer->encode(text, false, false);
        if (ids != sentencepiece_ids(text)) ++failures;
        CHECK(ids == sentencepiece_ids(text));
        if (printable_ascii(text)) {
            ++ascii;
            CHECK(ids == unigram_reference(text));
        }
    }
    CHECK(failures == 0);
    CHECK(ascii > 20);
    // Some strings need the character map: full-width letters become ASCII under NFKC.
    CHECK(trained().tokenizer->encode("\xef\xbc\xa8\xef\xbd\x85\xef\xbd\x8c\xef\xbd\x8c\xef\xbd\x8f", false, false) ==  // "Ｈｅｌｌｏ"
          trained().tokenizer->encode("Hello", false, false));
}

TEST_CASE("unigram tokenizer: <s> and </s> around a text, special tokens in text, decoding") {
    const Tokenizer& t = *trained().tokenizer;
    const std::vector<int32_t> words = t.encode("the model runs", false, false);
    REQUIRE(!words.empty());
    std::vector<int32_t> framed = {0};
    framed.insert(framed.end(), words.begin(), words.end());
    framed.push_back(2);
    CHECK(t.encode("the model runs", true, false) == framed);
    // Each piece of text between special tokens gets its own leading space, as SentencePiece
    // encodes each on its own.
    std::vector<int32_t> split = sentencepiece_ids("the model");
    split.push_back(2);
    const std::vector<int32_t> after = sentencepiece_ids("runs");
    split.insert(split.end(), after.begin(), after.end());
    CHECK(t.encode("the model</s>runs", false, true) == split);
    CHECK(t.decode(words) == "the model runs");
}

TEST_CASE("unigram tokenizer: a damaged character map is refused, or read only within its bounds") {
    const Trained& t = trained();
    const auto load = [&](const std::string& map) { return load_tokenizer(gguf::File::parse(t.gguf(map))); };
    CHECK_THROWS_AS(load(t.charsmap.substr(0, 3)), gguf::FormatError);
    CHECK_THROWS_AS(load(t.charsmap.substr(0, t.charsmap.size() / 2)), gguf::FormatError);  // the strings cut
    std::string unterminated = t.charsmap;
    unterminated.back() = 'x';
    CHECK_THROWS_AS(load(unterminated), gguf::FormatError);
    // Random units of the trie overwritten: each map is refused, or encodes the test strings
    // (where the sanitizer builds would catch a read outside it).
    const auto inputs = test::read_vocab_test_inputs(testdata("vocab/ggml-vocab-bert-bge.gguf.inp"));
    uint32_t trie_bytes = 0;
    std::memcpy(&trie_bytes, t.charsmap.data(), 4);
    std::mt19937 rng(7);
    int refused = 0;
    for (int round = 0; round < 60; ++round) {
        std::string map = t.charsmap;
        for (int k = 0; k < 4; ++k) {
            const uint32_t unit = rng() % (trie_bytes / 4), value = rng();
            std::memcpy(map.data() + 4 + 4 * unit, &value, 4);
        }
        try {
            const auto tokenizer = load(map);
            for (const std::string& text : inputs) tokenizer->encode(text, true, true);
        } catch (const gguf::FormatError&) {
            ++refused;
        }
    }
    MESSAGE(refused << " of 60 damaged maps refused");
    CHECK(refused > 0);
}

TEST_SUITE_END();

}  // namespace test_tokenizer_unigram
