// Model names, digests and reading an Ollama-layout store.
#include <doctest/doctest.h>

#include <algorithm>

#include <filesystem>
#include <fstream>

#include "models/model_name.h"
#include "models/model_store.h"
#include "models/sha256.h"
#include "test_support.h"

namespace test_model_store {

using namespace rockllm;
namespace fs = std::filesystem;

TEST_SUITE_BEGIN("unit");

TEST_CASE("model names: defaults, display forms and case-insensitive identity") {
    const auto n = ModelName::parse("llama3.2");
    CHECK(n.host == "registry.ollama.ai");
    CHECK(n.name_space == "library");
    CHECK(n.model == "llama3.2");
    CHECK(n.tag == "latest");
    CHECK(n.display() == "llama3.2:latest");
    CHECK(ModelName::parse("qwen2.5:0.5b").display() == "qwen2.5:0.5b");
    CHECK(ModelName::parse("user/model:tag").display() == "user/model:tag");
    CHECK(ModelName::parse("hf.co/bartowski/Some-GGUF:Q4_K_M").display() == "hf.co/bartowski/Some-GGUF:Q4_K_M");
    CHECK(ModelName::parse("registry.ollama.ai/library/llama3:8b").display() == "llama3:8b");
    CHECK(ModelName::parse("localhost:5000/ns/m:t").host == "localhost:5000");
    CHECK(ModelName::parse("Llama3.2:LATEST").same_as(ModelName::parse("llama3.2")));
    CHECK_FALSE(ModelName::parse("llama3.2:1b").same_as(ModelName::parse("llama3.2")));
}

TEST_CASE("model names: anything that could leave the store is rejected") {
    for (const char* bad : {"", "../x", "..", "a/../b", "/abs", "a//b", "a/b/c/d", "model:", ":tag", "mod el",
                            "m/ode\\l", "x:..", "x:.hidden", ".hidden", "ns.with.dot/m", "h..o/ns/m", "a\nb",
                            "%2e%2e/x", "model:a/b", "h:port/ns/m", "h:123456/ns/m"}) {
        CAPTURE(bad);
        CHECK_THROWS_AS(ModelName::parse(bad), InvalidModelName);
    }
    CHECK_THROWS_AS(ModelName::parse(std::string(81, 'a')), InvalidModelName);
    CHECK_THROWS_AS(ModelName::parse(std::string("a\0b", 3)), InvalidModelName);
}

TEST_CASE("digests: SHA-256 against published values, only sha256 digests name blobs") {
    CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");  // FIPS 180-2
    CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    // The test data README publishes the model file's digest.
    CHECK(sha256_file_hex(test::testdata("models/stories260K.gguf")) ==
          "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d");

    const std::string hex(64, 'a');
    CHECK(is_valid_digest("sha256:" + hex));
    CHECK(is_valid_digest("sha256-" + hex));
    for (const std::string& bad : {"sha256:" + hex.substr(1), "sha256:" + hex + "0", "sha512:" + hex,
                                  "sha256:../../../../etc/passwd" + std::string(36, 'a'), "sha256:" + hex.substr(0, 63) + "g"})
        CHECK_FALSE(is_valid_digest(bad));
    ModelStore store("/store");
    CHECK(store.blob_path("sha256:" + hex) == fs::path("/store/blobs/sha256-" + hex));
    CHECK_THROWS_AS(store.blob_path("sha256:../x"), std::invalid_argument);
    // Upper-case hex names the same blob file, not a second one.
    CHECK(store.blob_path("sha256:" + std::string(64, 'A')) == fs::path("/store/blobs/sha256-" + hex));
}

TEST_CASE("model store: lists an Ollama layout, resolves names, skips what it cannot read") {
    test::ScratchDir dir;
    const fs::path root = dir.path();
    fs::create_directories(root / "blobs");
    const std::string model_digest = "sha256:270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d";
    fs::copy_file(test::testdata("models/stories260K.gguf"), root / "blobs" / ("sha256-" + model_digest.substr(7)));
    const std::string config = R"({"model_format":"gguf","model_family":"llama"})";
    const std::string config_digest = "sha256:" + sha256_hex(config);
    std::ofstream(root / "blobs" / ("sha256-" + config_digest.substr(7))) << config;

    const std::string manifest = R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",)"
                                 R"("config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":")" +
                                 config_digest + R"(","size":)" + std::to_string(config.size()) +
                                 R"(},"layers":[{"mediaType":"application/vnd.ollama.image.model","digest":")" +
                                 model_digest + R"(","size":1185376}]})";
    auto write_manifest = [&](const fs::path& relative, const std::string& bytes) {
        fs::create_directories((root / "manifests" / relative).parent_path());
        std::ofstream(root / "manifests" / relative, std::ios::binary) << bytes;
    };
    write_manifest("registry.ollama.ai/library/stories/latest", manifest);
    write_manifest("hf.co/karpathy/Stories/F32", manifest);
    write_manifest("registry.ollama.ai/library/broken/latest", "{not json");
    write_manifest("registry.ollama.ai/library/two..dots/latest", manifest);  // valid: one path component
    write_manifest("registry.ollama.ai/library/-dash/latest", manifest);      // not a valid name: skipped
    write_manifest("registry.ollama.ai/library/stories/too/deep", manifest);

    const ModelStore store(root);
    const auto models = store.list();
    REQUIRE(models.size() == 3);
    CHECK(models[0].name.display() == "hf.co/karpathy/Stories:F32");
    CHECK(models[1].name.display() == "stories:latest");
    CHECK(models[2].name.display() == "two..dots:latest");
    CHECK(models[1].manifest.digest == "sha256:" + sha256_hex(manifest));
    CHECK(models[1].manifest.total_size() == 1185376 + static_cast<int64_t>(config.size()));
    const Layer* weights = models[1].manifest.first(media_type::kModel);
    REQUIRE(weights != nullptr);
    CHECK(fs::file_size(store.blob_path(weights->digest)) == 1185376);

    CHECK(store.find(ModelName::parse("STORIES"))->name.display() == "stories:latest");
    CHECK(store.find(ModelName::parse("hf.co/karpathy/stories:f32")).has_value());
    CHECK_FALSE(store.find(ModelName::parse("stories:other")).has_value());
    CHECK(store.manifest_path(ModelName::parse("stories")) == root / "manifests/registry.ollama.ai/library/stories/latest");

    CHECK_THROWS_WITH(parse_manifest(R"({"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:1","size":1},"layers":[]})"),
                      doctest::Contains("not a sha256 digest"));
    CHECK(ModelStore(root / "missing").list().empty());
}

TEST_CASE("store writes: blobs only under a verified digest, manifests atomically, remove keeps shared blobs") {
    rockllm::test::ScratchDir dir;
    const ModelStore store(dir.path() / "models");

    // A blob that does not hash to its digest never appears, and nothing is left behind.
    const std::string data = "layer bytes";
    const std::string digest = "sha256:" + sha256_hex(data);
    {
        auto writer = store.begin_blob("sha256:" + std::string(64, 'f'));
        writer->write(data.data(), data.size());
        CHECK_THROWS_AS(writer->commit(), DigestMismatch);
    }
    {
        auto abandoned = store.begin_blob(digest);  // destroyed without commit: a killed upload
        abandoned->write(data.data(), 4);
    }
    CHECK(fs::is_empty(dir.path() / "models" / "blobs"));
    CHECK(store.write_blob(data) == digest);
    CHECK(store.has_blob(digest));
    std::string upper = digest;
    std::transform(upper.begin() + 7, upper.end(), upper.begin() + 7, [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    CHECK(store.has_blob(upper));
    {
        auto again = store.begin_blob(upper);  // a client pushing the same blob under upper-case hex
        again->write(data.data(), data.size());
        again->commit();
    }
    CHECK(std::distance(fs::directory_iterator(dir.path() / "models" / "blobs"), fs::directory_iterator()) == 1);
    CHECK(rockllm::test::read_text(store.blob_path(digest).string()) == data);
    CHECK_THROWS_AS(store.begin_blob("sha256:../../x"), std::invalid_argument);

    // Two models sharing a blob.
    const std::string config = store.write_blob("{}");
    const std::string only_a = store.write_blob("only in a");
    Manifest a;
    a.config = Layer{"application/vnd.docker.container.image.v1+json", config, 2, ""};
    a.layers = {Layer{media_type::kModel, digest, static_cast<int64_t>(data.size()), ""},
                Layer{media_type::kSystem, only_a, 9, ""}};
    Manifest b = a;
    b.layers.pop_back();
    const std::string a_bytes = serialize_manifest(a);
    store.write_manifest(ModelName::parse("a"), a_bytes);
    store.write_manifest(ModelName::parse("user/b:tag"), serialize_manifest(b));
    CHECK(parse_manifest(a_bytes).layers.size() == 2);
    CHECK(parse_manifest(a_bytes).digest == "sha256:" + sha256_hex(a_bytes));
    REQUIRE(store.list().size() == 2);

    store.remove(*store.find(ModelName::parse("a")));
    CHECK_FALSE(store.has_blob(only_a));
    CHECK(store.has_blob(digest));  // b still needs it
    CHECK(store.has_blob(config));
    CHECK_FALSE(fs::exists(dir.path() / "models/manifests/registry.ollama.ai/library"));  // empty dirs go
    store.copy(*store.find(ModelName::parse("user/b:tag")), ModelName::parse("c"));
    CHECK(store.find(ModelName::parse("c"))->manifest.digest == store.find(ModelName::parse("user/b:tag"))->manifest.digest);
    store.remove(*store.find(ModelName::parse("user/b:tag")));
    CHECK(store.has_blob(digest));  // c still needs it
    store.remove(*store.find(ModelName::parse("c")));
    CHECK(fs::is_empty(dir.path() / "models" / "blobs"));
    CHECK(fs::is_empty(dir.path() / "models" / "manifests"));
}

TEST_CASE("store writes: a blob Ollama is still writing (not in any manifest) is never removed") {
    rockllm::test::ScratchDir dir;
    const ModelStore store(dir.path() / "models");
    const std::string foreign = store.write_blob("someone else's");
    const std::string config = store.write_blob("{}");
    Manifest m;
    m.config = Layer{"application/vnd.docker.container.image.v1+json", config, 2, ""};
    store.write_manifest(ModelName::parse("m"), serialize_manifest(m));
    std::ofstream(dir.path() / "models/blobs" / ("sha256-" + std::string(64, 'a') + "-partial")) << "download";
    store.remove(*store.find(ModelName::parse("m")));
    CHECK(store.has_blob(foreign));
    CHECK(fs::exists(dir.path() / "models/blobs" / ("sha256-" + std::string(64, 'a') + "-partial")));
    CHECK_FALSE(store.has_blob(config));
}

TEST_CASE("store: temporary files of interrupted writes and abandoned partial downloads are removed once stale, fresh ones kept") {
    rockllm::test::ScratchDir dir;
    const ModelStore store(dir.path() / "models");
    fs::create_directories(dir.path() / "models/blobs");
    fs::create_directories(dir.path() / "models/manifests/registry.ollama.ai/library/m");
    const fs::path old_blob = dir.path() / "models/blobs/.tmp-sha256-abc-123";
    const fs::path old_manifest = dir.path() / "models/manifests/registry.ollama.ai/library/m/.tmp-latest-9";
    const fs::path fresh = dir.path() / "models/blobs/.tmp-sha256-def-456";
    const fs::path partial = dir.path() / "models/blobs" / (".partial-sha256-" + std::string(64, 'a'));
    const fs::path abandoned = dir.path() / "models/blobs" / (".partial-sha256-" + std::string(64, 'b'));
    for (const auto& p : {old_blob, old_manifest, fresh, partial, abandoned}) std::ofstream(p) << "x";
    const auto two_hours_ago = fs::file_time_type::clock::now() - std::chrono::hours(2);
    fs::last_write_time(old_blob, two_hours_ago);
    fs::last_write_time(old_manifest, two_hours_ago);
    fs::last_write_time(partial, two_hours_ago);
    fs::last_write_time(abandoned, fs::file_time_type::clock::now() - std::chrono::hours(25));
    CHECK(store.remove_stale_temporaries() == 3);
    CHECK_FALSE(fs::exists(old_blob));
    CHECK_FALSE(fs::exists(old_manifest));
    CHECK(fs::exists(fresh));
    CHECK(fs::exists(partial));  // a download to resume within the day
    CHECK_FALSE(fs::exists(abandoned));  // a pull nobody resumed for a day
}

TEST_CASE("store: a pinned blob outlives the model that shared it, a replaced version's blobs go") {
    rockllm::test::ScratchDir dir;
    const ModelStore store(dir.path() / "models");
    const std::string weights = store.write_blob("weights"), config = store.write_blob("{}"), system = store.write_blob("be brief");
    Manifest m;
    m.config = Layer{"application/vnd.docker.container.image.v1+json", config, 2, ""};
    m.layers = {Layer{media_type::kModel, weights, 7, ""}, Layer{media_type::kSystem, system, 8, ""}};
    store.write_manifest(ModelName::parse("shared"), serialize_manifest(m));
    {
        const auto pin = store.pin({weights, "sha256:" + std::string(64, 'b')});  // a pull about to name the weights
        const auto second = store.pin({weights});
        store.remove(*store.find(ModelName::parse("shared")));
        CHECK(store.has_blob(weights));
        CHECK_FALSE(store.has_blob(system));
    }
    // A new version replacing an old one: the old version's own blobs go, shared ones stay.
    store.write_manifest(ModelName::parse("shared"), serialize_manifest(m));
    Manifest next = m;
    const std::string other_system = store.write_blob("be verbose");
    next.layers.back() = Layer{media_type::kSystem, other_system, 10, ""};
    store.replace_manifest(ModelName::parse("shared"), serialize_manifest(next));
    CHECK(store.has_blob(weights));
    CHECK(store.has_blob(other_system));
    CHECK_FALSE(store.has_blob(system));
    // A copy onto an existing name replaces it the same way.
    store.write_manifest(ModelName::parse("target"), serialize_manifest(m));
    store.copy(*store.find(ModelName::parse("shared")), ModelName::parse("target"));
    CHECK_FALSE(store.has_blob(system));
}

TEST_CASE("store: the sweep at start prunes old unreferenced blobs and their derived files, keeps the rest, stops at an unreadable manifest") {
    rockllm::test::ScratchDir dir;
    const fs::path root = dir.path() / "models";
    const ModelStore store(root);
    const std::string used = store.write_blob("used"), config = store.write_blob("{}");
    Manifest m;
    m.config = Layer{"application/vnd.docker.container.image.v1+json", config, 2, ""};
    m.layers = {Layer{media_type::kModel, used, 4, ""}};
    store.write_manifest(ModelName::parse("m"), serialize_manifest(m));
    const std::string old_orphan = store.write_blob("old orphan"), young_orphan = store.write_blob("young orphan"),
                      pinned = store.write_blob("pinned orphan");
    const auto two_hours_ago = fs::file_time_type::clock::now() - std::chrono::hours(2);
    for (const std::string& d : {used, config, old_orphan, pinned}) fs::last_write_time(store.blob_path(d), two_hours_ago);
    fs::create_directories(store.derived_dir());
    const fs::path derived = store.derived_dir() / (store.blob_path(old_orphan).filename().string() + ".npu");
    const fs::path derived_of_gone = store.derived_dir() / ("sha256-" + std::string(64, '1') + ".npu");
    const fs::path derived_of_used = store.derived_dir() / (store.blob_path(used).filename().string() + ".npu");
    const fs::path fresh_temporary = root / "blobs/.tmp-sha256-abc-1", ollama_partial = root / "blobs" / ("sha256-" + std::string(64, 'a') + "-partial");
    for (const fs::path& p : {derived, derived_of_gone, derived_of_used, fresh_temporary, ollama_partial}) std::ofstream(p) << "x";
    fs::last_write_time(ollama_partial, two_hours_ago);

    // An unreadable manifest might name any blob: none is pruned (temporaries still go).
    const fs::path broken = root / "manifests/registry.ollama.ai/library/broken/latest";
    fs::create_directories(broken.parent_path());
    std::ofstream(broken) << "{not json";
    StoreSweep sweep = store.sweep_at_start(true);
    CHECK(sweep.temporaries == 1);
    CHECK_FALSE(fs::exists(fresh_temporary));
    CHECK(sweep.blobs == 0);
    CHECK(sweep.blobs_skipped.find("1 manifest(s) cannot be read") != std::string::npos);
    CHECK(store.has_blob(old_orphan));
    fs::remove(broken);

    CHECK(store.sweep_at_start(false).blobs_skipped == "OLLAMA_NOPRUNE is set");
    CHECK(store.has_blob(old_orphan));

    {
        const auto pin = store.pin({pinned});
        sweep = store.sweep_at_start(true);
    }
    CHECK(sweep.blobs == 1);
    CHECK(sweep.blob_bytes == 10);
    CHECK(sweep.blobs_skipped.empty());
    CHECK_FALSE(store.has_blob(old_orphan));
    CHECK_FALSE(fs::exists(derived));
    CHECK_FALSE(fs::exists(derived_of_gone));
    CHECK(fs::exists(derived_of_used));
    CHECK(store.has_blob(young_orphan));  // may be an upload whose create is still to come
    CHECK(store.has_blob(pinned));
    CHECK(store.has_blob(used));
    CHECK(store.has_blob(config));
    CHECK(fs::exists(ollama_partial));  // not a file of ours
}

TEST_CASE("store: one server at a time holds the store's lock") {
    rockllm::test::ScratchDir dir;
    auto first = StoreLock::try_acquire(dir.path() / "models");
    REQUIRE(first != nullptr);
    CHECK(StoreLock::try_acquire(dir.path() / "models") == nullptr);
    first.reset();
    CHECK(StoreLock::try_acquire(dir.path() / "models") != nullptr);
}

TEST_SUITE_END();

}  // namespace test_model_store
