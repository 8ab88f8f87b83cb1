#include <doctest/doctest.h>

#include <cstring>
#include <fstream>

#include "llm/gguf.h"
#include "llm/gguf_writer.h"
#include "test_support.h"

namespace test_gguf {

using namespace rockllm;
using rockllm::test::testdata;

TEST_SUITE_BEGIN("unit");

TEST_CASE("GGUF reader: stories260K header, metadata and tensors") {
    const gguf::File f = gguf::File::open(testdata("models/stories260K.gguf"));
    CHECK(f.version() == 3);
    CHECK(f.alignment() == 32);
    CHECK(f.data_offset() % 32 == 0);
    const gguf::Metadata& m = f.metadata();
    CHECK(m.get<std::string>("general.architecture") == "llama");
    CHECK(m.get<uint32_t>("llama.block_count") == 5);
    CHECK(m.get<int64_t>("llama.embedding_length") == 64);
    CHECK(m.get<uint32_t>("llama.feed_forward_length") == 172);
    CHECK(m.get<uint32_t>("llama.attention.head_count") == 8);
    CHECK(m.get<uint32_t>("llama.attention.head_count_kv") == 4);
    CHECK(m.get<float>("llama.attention.layer_norm_rms_epsilon") == doctest::Approx(1e-5));
    const auto tokens = m.get<std::vector<std::string>>("tokenizer.ggml.tokens");
    REQUIRE(tokens.size() == 512);
    CHECK(tokens[0] == "<unk>");
    CHECK(tokens[1] == "<s>");
    CHECK(tokens[3] == "<0x00>");
    CHECK(m.get<std::vector<float>>("tokenizer.ggml.scores").size() == 512);

    CHECK(f.tensors().size() == 48);
    const gguf::TensorInfo* embd = f.find_tensor("token_embd.weight");
    REQUIRE(embd != nullptr);
    CHECK(embd->type == GgmlType::F32);
    CHECK(embd->shape == std::vector<int64_t>{64, 512});
    CHECK(embd->size_bytes == 64 * 512 * 4);
    CHECK(embd->data == f.bytes().data() + f.data_offset() + embd->offset);
    // The README says output.weight is a copy of token_embd.weight.
    const gguf::TensorInfo* out = f.find_tensor("output.weight");
    REQUIRE(out != nullptr);
    CHECK(std::memcmp(out->data, embd->data, embd->size_bytes) == 0);
    CHECK(f.find_tensor("no.such.tensor") == nullptr);
}

TEST_CASE("GGUF reader: typed access errors name the key") {
    const gguf::File f = gguf::File::open(testdata("models/stories260K.gguf"));
    const gguf::Metadata& m = f.metadata();
    CHECK_THROWS_WITH_AS(m.get<std::string>("llama.block_count"), doctest::Contains("llama.block_count"),
                         gguf::FormatError);
    CHECK_THROWS_WITH_AS(m.get<uint32_t>("missing.key"), doctest::Contains("missing.key"), gguf::FormatError);
    CHECK(m.get_or<uint32_t>("missing.key", 7) == 7);
    CHECK_THROWS_AS(m.get<uint8_t>("llama.context_length"), gguf::FormatError);  // 2048 does not fit
}

TEST_CASE("GGUF writer and reader round-trip every value type, nested arrays and tensors") {
    gguf::Writer w;
    w.set("u8", uint8_t{200});
    w.set("i8", int8_t{-100});
    w.set("u16", uint16_t{60000});
    w.set("i16", int16_t{-30000});
    w.set("u32", uint32_t{4000000000u});
    w.set("i32", int32_t{-2000000000});
    w.set("f32", 1.5f);
    w.set("bool", true);
    w.set("string", std::string("héllo\0world", 12));
    w.set("u64", uint64_t{1} << 60);
    w.set("i64", int64_t{-(int64_t{1} << 60)});
    w.set("f64", 2.25);
    w.set("strings", gguf::make_array(std::vector<std::string>{"a", "", "ccc"}));
    w.set("floats", gguf::make_array(std::vector<float>{1.0f, -2.0f}));
    w.set("nested", gguf::make_array(std::vector<std::vector<int32_t>>{{1, 2}, {}, {3}}));
    w.set("empty", gguf::make_array(std::vector<uint64_t>{}));
    w.set("general.alignment", uint32_t{64});
    w.add_tensor_f32("a", {4, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
    w.add_tensor("b", GgmlType::F16, {32}, std::vector<uint8_t>(64, 0x3c));
    w.add_tensor("c", GgmlType::Q8_0, {64, 1}, std::vector<uint8_t>(68, 7));

    const gguf::File f = gguf::File::parse(w.to_bytes());
    const gguf::Metadata& m = f.metadata();
    CHECK(m.get<uint8_t>("u8") == 200);
    CHECK(m.get<int8_t>("i8") == -100);
    CHECK(m.get<uint16_t>("u16") == 60000);
    CHECK(m.get<int16_t>("i16") == -30000);
    CHECK(m.get<uint32_t>("u32") == 4000000000u);
    CHECK(m.get<int32_t>("i32") == -2000000000);
    CHECK(m.get<float>("f32") == 1.5f);
    CHECK(m.get<bool>("bool") == true);
    CHECK(m.get<std::string>("string") == std::string("héllo\0world", 12));
    CHECK(m.get<uint64_t>("u64") == uint64_t{1} << 60);
    CHECK(m.get<int64_t>("i64") == -(int64_t{1} << 60));
    CHECK(m.get<double>("f64") == 2.25);
    CHECK(m.get<std::vector<std::string>>("strings") == std::vector<std::string>{"a", "", "ccc"});
    CHECK(m.get<std::vector<float>>("floats") == std::vector<float>{1.0f, -2.0f});
    CHECK(m.get<std::vector<std::vector<int32_t>>>("nested") == std::vector<std::vector<int32_t>>{{1, 2}, {}, {3}});
    CHECK(m.get<std::vector<uint64_t>>("empty").empty());
    CHECK(m.find("nested")->type() == gguf::ValueType::Array);
    CHECK(m.find("u16")->type() == gguf::ValueType::UInt16);
    // Entries keep their order.
    REQUIRE(m.entries().size() == 17);
    CHECK(m.entries()[0].first == "u8");
    CHECK(m.entries()[16].first == "general.alignment");

    CHECK(f.alignment() == 64);
    REQUIRE(f.tensors().size() == 3);
    const gguf::TensorInfo& a = *f.find_tensor("a");
    CHECK(a.shape == std::vector<int64_t>{4, 2});
    CHECK(a.offset == 0);
    float values[8];
    std::memcpy(values, a.data, sizeof values);
    CHECK(values[7] == 8.0f);
    CHECK(f.find_tensor("b")->offset == 64);  // 32 bytes of "a", padded to the 64-byte alignment
    CHECK(f.find_tensor("c")->type == GgmlType::Q8_0);
    CHECK(f.find_tensor("c")->size_bytes == 68);
    CHECK(f.find_tensor("c")->data[67] == 7);

    // Writing the parsed file again gives the same bytes.
    gguf::Writer again;
    for (const auto& [key, value] : m.entries()) again.set(key, value);
    for (const auto& t : f.tensors())
        again.add_tensor(t.name, t.type, t.shape, std::vector<uint8_t>(t.data, t.data + t.size_bytes));
    CHECK(again.to_bytes() == w.to_bytes());
}

TEST_CASE("GGUF writer: write_file is readable and rejects inconsistent tensors") {
    rockllm::test::ScratchDir dir;
    gguf::Writer w;
    w.set("general.architecture", "llama");
    CHECK_THROWS_AS(w.add_tensor("bad", GgmlType::F32, {3}, std::vector<uint8_t>(11)), std::invalid_argument);
    CHECK_THROWS_AS(w.add_tensor("bad", GgmlType::Q8_0, {16}, std::vector<uint8_t>(17)), std::invalid_argument);
    w.add_tensor_f32("x", {2}, {1, 2});
    CHECK_THROWS_AS(w.add_tensor_f32("x", {2}, {1, 2}), std::invalid_argument);
    w.write_file(dir.file("out.gguf"));
    const gguf::File f = gguf::File::open(dir.file("out.gguf"));
    CHECK(f.metadata().get<std::string>("general.architecture") == "llama");
    CHECK(f.tensors().size() == 1);
    CHECK(std::filesystem::directory_iterator(dir.path())->path().filename() == "out.gguf");  // no temp file left
}

TEST_CASE("GGUF reader: vocabulary-only files from llama.cpp parse") {
    for (const char* name : {"ggml-vocab-llama-spm.gguf", "ggml-vocab-phi-3.gguf", "ggml-vocab-gpt-2.gguf",
                             "ggml-vocab-deepseek-llm.gguf", "ggml-vocab-bert-bge.gguf"}) {
        CAPTURE(name);
        const gguf::File f = gguf::File::open(testdata(std::string("vocab/") + name));
        CHECK(f.tensors().empty());
        CHECK(!f.metadata().get<std::vector<std::string>>("tokenizer.ggml.tokens").empty());
    }
}

TEST_CASE("GGUF reader: file-level errors") {
    rockllm::test::ScratchDir dir;
    CHECK_THROWS_WITH(gguf::File::open(dir.file("missing.gguf")), doctest::Contains("missing.gguf"));
    CHECK_THROWS_WITH(gguf::File::open(dir.path().string()), doctest::Contains("not a regular file"));
    { std::ofstream(dir.file("empty.gguf")); }
    CHECK_THROWS_WITH(gguf::File::open(dir.file("empty.gguf")), doctest::Contains("empty"));
}

TEST_SUITE_END();

}  // namespace test_gguf
