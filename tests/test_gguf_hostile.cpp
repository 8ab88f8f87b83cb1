// Hostile GGUF input: every malformed file must give a gguf::FormatError that names the problem,
// never a crash or a read outside the buffer (this suite also runs under ASan/UBSan).
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>

#include "llm/gguf.h"
#include "llm/gguf_writer.h"
#include "test_support.h"

namespace test_gguf_hostile {

using namespace rockllm;

namespace {

// Writes GGUF fields one by one, so a test can put any value, valid or not, in any field.
struct RawGguf {
    std::vector<uint8_t> bytes;

    template <class T>
    RawGguf& put(T v) {
        const size_t at = bytes.size();
        bytes.resize(at + sizeof v);
        std::memcpy(bytes.data() + at, &v, sizeof v);
        return *this;
    }
    RawGguf& str(const std::string& s) {
        put<uint64_t>(s.size());
        bytes.insert(bytes.end(), s.begin(), s.end());
        return *this;
    }
    RawGguf& header(uint64_t tensors, uint64_t kvs, uint32_t version = 3) {
        return put<uint32_t>(gguf::kMagic).put<uint32_t>(version).put<uint64_t>(tensors).put<uint64_t>(kvs);
    }
    RawGguf& tensor(const std::string& name, std::vector<uint64_t> dims, uint32_t type, uint64_t offset) {
        str(name).put<uint32_t>(static_cast<uint32_t>(dims.size()));
        for (uint64_t d : dims) put<uint64_t>(d);
        return put<uint32_t>(type).put<uint64_t>(offset);
    }
    RawGguf& pad(size_t alignment = 32) {
        while (bytes.size() % alignment) bytes.push_back(0);
        return *this;
    }
    RawGguf& zeros(size_t n) {
        bytes.insert(bytes.end(), n, 0);
        return *this;
    }
};

std::string parse_error(std::vector<uint8_t> bytes) {
    try {
        gguf::File::parse(std::move(bytes));
    } catch (const gguf::FormatError& e) {
        return e.what();
    }
    return "(parsed without error)";
}

constexpr uint32_t kF32 = 0, kQ8_0 = 8;

}  // namespace

TEST_SUITE_BEGIN("unit");

TEST_CASE("hostile GGUF: a real file truncated at every header offset and throughout its data") {
    const std::vector<uint8_t> full = rockllm::test::read_bytes(rockllm::test::testdata("models/stories260K.gguf"));
    const gguf::File whole = gguf::File::parse(full);
    uint64_t data_end = 0;
    for (const auto& t : whole.tensors()) data_end = std::max(data_end, whole.data_offset() + t.offset + t.size_bytes);
    REQUIRE(data_end <= full.size());

    std::vector<size_t> cuts;
    for (size_t n = 0; n <= whole.data_offset() + 64; ++n) cuts.push_back(n);  // every header byte
    for (size_t n = whole.data_offset(); n < full.size(); n += 997) cuts.push_back(n);  // the data section
    for (size_t n = full.size() - 40; n < full.size(); ++n) cuts.push_back(n);
    size_t failures = 0;
    for (size_t n : cuts) {
        const std::string error = parse_error(std::vector<uint8_t>(full.begin(), full.begin() + n));
        if (n < data_end) {
            if (error.find("GGUF") == std::string::npos) FAIL("cut at " << n << ": " << error);
            ++failures;
        } else {
            CHECK_MESSAGE(error == "(parsed without error)", "cut at " << n);  // only padding was cut
        }
    }
    CHECK(failures > 10000);
}

TEST_CASE("hostile GGUF: truncated files on disk are reported with their path") {
    const std::vector<uint8_t> full = rockllm::test::read_bytes(rockllm::test::testdata("models/stories260K.gguf"));
    rockllm::test::ScratchDir dir;
    for (size_t n : {size_t{3}, size_t{100}, size_t{20000}, full.size() - 1000}) {
        const std::string path = dir.file("cut-" + std::to_string(n) + ".gguf");
        FILE* f = std::fopen(path.c_str(), "wb");
        std::fwrite(full.data(), 1, n, f);
        std::fclose(f);
        CHECK_THROWS_WITH_AS(gguf::File::open(path), doctest::Contains(path.c_str()), gguf::FormatError);
    }
}

TEST_CASE("hostile GGUF: header fields") {
    CHECK(parse_error({'G', 'G', 'U'}).find("magic") != std::string::npos);
    CHECK(parse_error(RawGguf().put<uint32_t>(0x12345678).put<uint32_t>(3).bytes).find("not a GGUF file") !=
          std::string::npos);
    CHECK(parse_error(RawGguf().header(0, 0, 1).bytes).find("version 1") != std::string::npos);
    CHECK(parse_error(RawGguf().header(0, 0, 4).bytes).find("unsupported GGUF version 4") != std::string::npos);
    CHECK(parse_error(RawGguf().header(0, 0, 0x03000000).bytes).find("big-endian") != std::string::npos);
    CHECK(parse_error(RawGguf().header(~0ull, 0).bytes).find("tensor count") != std::string::npos);
    CHECK(parse_error(RawGguf().header(0, ~0ull).bytes).find("metadata count") != std::string::npos);
    CHECK(parse_error(RawGguf().header(1ull << 40, 0).zeros(64).bytes).find("cannot fit") != std::string::npos);
    // Version 2 files are read like version 3.
    CHECK(parse_error(RawGguf().header(0, 1, 2).str("k").put<uint32_t>(4).put<uint32_t>(9).bytes) ==
          "(parsed without error)");
}

TEST_CASE("hostile GGUF: metadata values") {
    auto one_kv = [](const std::string& key) { return RawGguf().header(0, 1).str(key); };
    CHECK(parse_error(one_kv("k").put<uint32_t>(13).zeros(8).bytes).find("unknown value type 13") != std::string::npos);
    CHECK(parse_error(one_kv("k").put<uint32_t>(8).put<uint64_t>(~0ull).bytes).find("string length") !=
          std::string::npos);
    CHECK(parse_error(one_kv("k").put<uint32_t>(8).put<uint64_t>(1000).zeros(10).bytes).find("truncated") !=
          std::string::npos);
    CHECK(parse_error(RawGguf().header(0, 1).put<uint64_t>(~0ull - 3).zeros(16).bytes).find("key") != std::string::npos);
    CHECK(parse_error(RawGguf().header(0, 1).str("").put<uint32_t>(4).put<uint32_t>(1).bytes).find("empty key") !=
          std::string::npos);
    // Arrays whose count cannot fit in what is left of the file.
    CHECK(parse_error(one_kv("arr").put<uint32_t>(9).put<uint32_t>(6).put<uint64_t>(1ull << 62).zeros(16).bytes)
              .find("cannot fit") != std::string::npos);
    CHECK(parse_error(one_kv("arr").put<uint32_t>(9).put<uint32_t>(8).put<uint64_t>(~0ull).zeros(16).bytes)
              .find("cannot fit") != std::string::npos);
    CHECK(parse_error(one_kv("arr").put<uint32_t>(9).put<uint32_t>(77).put<uint64_t>(1).bytes)
              .find("unknown value type 77") != std::string::npos);
    // Arrays nested far too deep.
    RawGguf deep = one_kv("deep");
    deep.put<uint32_t>(9);
    for (int i = 0; i < 100; ++i) deep.put<uint32_t>(9).put<uint64_t>(1);
    CHECK(parse_error(deep.bytes).find("nested deeper") != std::string::npos);
    CHECK(parse_error(one_kv("b").put<uint32_t>(7).put<uint8_t>(2).bytes).find("bool") != std::string::npos);
    // Duplicate keys.
    CHECK(parse_error(RawGguf()
                          .header(0, 2)
                          .str("k")
                          .put<uint32_t>(4)
                          .put<uint32_t>(1)
                          .str("k")
                          .put<uint32_t>(4)
                          .put<uint32_t>(2)
                          .bytes)
              .find("duplicate key 'k'") != std::string::npos);
    // general.alignment must be a uint32 power of two.
    CHECK(parse_error(one_kv("general.alignment").put<uint32_t>(4).put<uint32_t>(0).bytes).find("power of two") !=
          std::string::npos);
    CHECK(parse_error(one_kv("general.alignment").put<uint32_t>(4).put<uint32_t>(48).bytes).find("power of two") !=
          std::string::npos);
    CHECK(parse_error(one_kv("general.alignment").put<uint32_t>(10).put<uint64_t>(32).bytes).find("uint32") !=
          std::string::npos);
}

TEST_CASE("hostile GGUF: tensor directory and data") {
    auto with_tensor = [](const std::string& name, std::vector<uint64_t> dims, uint32_t type, uint64_t offset,
                          size_t data_bytes) {
        return RawGguf().header(1, 0).tensor(name, dims, type, offset).pad().zeros(data_bytes).bytes;
    };
    // A valid baseline first, so each case below fails for its own reason only.
    CHECK(parse_error(with_tensor("t", {8}, kF32, 0, 32)) == "(parsed without error)");

    CHECK(parse_error(with_tensor("t", {8}, kF32, 0, 31)).find("past the end") != std::string::npos);
    CHECK(parse_error(with_tensor("t", {8}, kF32, 32, 32)).find("past the end") != std::string::npos);
    CHECK(parse_error(with_tensor("t", {8}, kF32, ~0ull & ~31ull, 32)).find("past the end") != std::string::npos);
    CHECK(parse_error(with_tensor("t", {8}, kF32, 4, 64)).find("not a multiple of the alignment") !=
          std::string::npos);
    CHECK(parse_error(with_tensor("t", {8}, 4, 0, 32)).find("unknown tensor type id 4") != std::string::npos);
    CHECK(parse_error(with_tensor("t", {8}, 1000, 0, 32)).find("unknown tensor type id 1000") != std::string::npos);
    CHECK(parse_error(with_tensor("t", {}, kF32, 0, 32)).find("dimensions") != std::string::npos);
    CHECK(parse_error(with_tensor("t", {1, 1, 1, 1, 1}, kF32, 0, 32)).find("dimensions") != std::string::npos);
    CHECK(parse_error(with_tensor("t", {1ull << 62, 1ull << 62}, kF32, 0, 32)).find("overflows") != std::string::npos);
    CHECK(parse_error(with_tensor("t", {~0ull}, kF32, 0, 32)).find("overflows") != std::string::npos);
    CHECK(parse_error(with_tensor("t", {1ull << 61}, kF32, 0, 32)).find("past the end") != std::string::npos);
    CHECK(parse_error(with_tensor("t", {(1ull << 62) / 32 * 32}, kQ8_0, 0, 32)).find("GGUF") != std::string::npos);
    CHECK(parse_error(with_tensor("t", {33}, kQ8_0, 0, 64)).find("block size") != std::string::npos);
    CHECK(parse_error(with_tensor("", {8}, kF32, 0, 32)).find("name length") != std::string::npos);
    CHECK(parse_error(with_tensor(std::string(200, 'x'), {8}, kF32, 0, 32)).find("name length") != std::string::npos);

    // Two tensors sharing bytes, and two tensors with one name.
    auto two = [](const std::string& a, uint64_t offset_a, const std::string& b, uint64_t offset_b) {
        return RawGguf().header(2, 0).tensor(a, {16}, kF32, offset_a).tensor(b, {16}, kF32, offset_b).pad().zeros(256).bytes;
    };
    CHECK(parse_error(two("a", 0, "b", 64)) == "(parsed without error)");
    CHECK(parse_error(two("a", 0, "b", 32)).find("overlap") != std::string::npos);
    CHECK(parse_error(two("a", 64, "b", 32)).find("overlap") != std::string::npos);
    CHECK(parse_error(two("a", 0, "a", 64)).find("duplicate tensor name 'a'") != std::string::npos);

    // A custom alignment moves the data section, and offsets must respect it.
    auto aligned = [](uint32_t alignment, uint64_t offset) {
        RawGguf g;
        g.header(1, 1).str("general.alignment").put<uint32_t>(4).put<uint32_t>(alignment);
        g.tensor("t", {8}, kF32, offset).pad(alignment).zeros(alignment + 32);
        return g.bytes;
    };
    CHECK(parse_error(aligned(64, 64)) == "(parsed without error)");
    CHECK(parse_error(aligned(64, 32)).find("alignment 64") != std::string::npos);
}

TEST_CASE("hostile GGUF: flipping any single header byte never crashes") {
    // Not every flip is an error (some change only a value), but none may crash or read out of bounds.
    gguf::Writer w;
    w.set("general.architecture", "llama");
    w.set("tokens", gguf::make_array(std::vector<std::string>{"a", "bb", "ccc"}));
    w.set("nested", gguf::make_array(std::vector<std::vector<uint8_t>>{{1}, {2, 3}}));
    w.add_tensor_f32("x", {8}, std::vector<float>(8, 1.0f));
    w.add_tensor_f32("y", {4, 2}, std::vector<float>(8, 2.0f));
    const std::vector<uint8_t> good = w.to_bytes();
    const size_t header = gguf::File::parse(good).data_offset();
    size_t rejected = 0;
    for (size_t i = 0; i < header; ++i) {
        for (uint8_t mask : {uint8_t{0x01}, uint8_t{0x80}, uint8_t{0xff}}) {
            std::vector<uint8_t> bad = good;
            bad[i] ^= mask;
            if (parse_error(bad) != "(parsed without error)") ++rejected;
        }
    }
    CHECK(rejected > header);  // most flips hit a length, count, type or offset
}

TEST_SUITE_END();

}  // namespace test_gguf_hostile
