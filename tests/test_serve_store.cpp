// The store under changes that overlap or repeat: a pull sharing a layer with a model deleted
// meanwhile, models re-created again and again, and what a restart finds left behind.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <set>

#include "local_registry.h"
#include "models/sha256.h"
#include "serve_fixture.h"

namespace test_serve_store {

using nlohmann::json;
using rockllm::test::Daemon;
using rockllm::test::digest_of;
using rockllm::test::LocalRegistry;
using rockllm::test::post;
namespace fs = std::filesystem;

namespace {

fs::path blob_file(const Daemon& daemon, const std::string& digest) { return daemon.store() / "blobs" / ("sha256-" + digest.substr(7)); }

// The blob files in the store (not temporaries or partial downloads).
std::set<std::string> blob_names(const Daemon& daemon) {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(daemon.store() / "blobs"))
        if (e.path().filename().string().rfind("sha256-", 0) == 0) names.insert(e.path().filename().string());
    return names;
}

}  // namespace

TEST_SUITE_BEGIN("serve");

TEST_CASE("serve: a pull keeps a layer it shares with a model deleted while the pull runs") {
    LocalRegistry registry;
    const std::string gguf = rockllm::test::read_text(rockllm::test::testdata("models/stories260K.gguf"));
    const std::string config = R"({"model_format":"gguf","model_family":"llama"})";
    const std::string params = R"({"temperature":0})";
    registry.add_blob(digest_of(gguf), gguf);
    registry.add_blob(digest_of(config), config);
    registry.add_blob(digest_of(params), params);
    registry.add_manifest("library/tiny:latest", rockllm::test::make_manifest(
        digest_of(config), config.size(),
        {{"application/vnd.ollama.image.model", digest_of(gguf), gguf.size()},
         {"application/vnd.ollama.image.params", digest_of(params), params.size()}}));

    // stories:latest holds the same weights: the pull finds them in the store and downloads only
    // the params, which the registry holds back until stories has been deleted.
    Daemon daemon;
    const std::string name = "127.0.0.1:" + std::to_string(registry.port()) + "/library/tiny";
    registry.hold_next_download(digest_of(params));
    auto pulled = std::async(std::launch::async, [&] {
        httplib::Client c = daemon.client();
        auto r = c.Post("/api/pull", json{{"model", name}, {"insecure", true}, {"stream", false}}.dump(), "application/json");
        return r ? r->status : 0;
    });
    REQUIRE(registry.wait_for_held_download());
    httplib::Client c = daemon.client();
    auto deleted = c.Delete("/api/delete", json{{"model", "stories"}}.dump(), "application/json");
    REQUIRE(deleted);
    CHECK(deleted->status == 200);
    registry.release_held_download();
    CHECK(pulled.get() == 200);

    // The new model's every layer is there, and it runs.
    CHECK(fs::exists(blob_file(daemon, digest_of(gguf))));
    CHECK(fs::exists(blob_file(daemon, digest_of(params))));
    const json generated = post(c, "/api/generate", json{{"model", name}, {"prompt", "Once"}, {"stream", false}, {"options", {{"num_predict", 4}}}}.dump(), 200);
    CHECK(generated.at("done") == true);
}

TEST_CASE("serve: re-creating a model removes its old layers, deleting it leaves no blob, a restart prunes what a killed run left") {
    Daemon daemon({}, /*with_stories=*/false);
    httplib::Client c = daemon.client();
    for (int i = 0; i < 5; ++i) rockllm::test::create_stories(c, "mine", {{"system", "version " + std::to_string(i)}});
    // The weights, the latest system prompt and config: nothing of the four earlier versions.
    CHECK(blob_names(daemon).size() == 3);
    auto deleted = c.Delete("/api/delete", json{{"model", "mine"}}.dump(), "application/json");
    REQUIRE(deleted);
    CHECK(deleted->status == 200);
    CHECK(blob_names(daemon).empty());

    // What a killed pull or create leaves: blobs no manifest names, a temporary file. A blob of an
    // hour ago goes at the restart; a fresh one may be an upload whose create is still to come.
    const std::string old_orphan = digest_of("left by a killed pull"), young_orphan = digest_of("just uploaded");
    std::ofstream(blob_file(daemon, old_orphan)) << "left by a killed pull";
    std::ofstream(blob_file(daemon, young_orphan)) << "just uploaded";
    fs::last_write_time(blob_file(daemon, old_orphan), fs::file_time_type::clock::now() - std::chrono::hours(2));
    const fs::path temporary = daemon.store() / "blobs" / ".tmp-sha256-abc-1";
    std::ofstream(temporary) << "half a blob";
    rockllm::test::create_stories(c, "kept");
    daemon.restart();
    CHECK_FALSE(fs::exists(blob_file(daemon, old_orphan)));
    CHECK(fs::exists(blob_file(daemon, young_orphan)));
    CHECK_FALSE(fs::exists(temporary));  // no write is in progress when the server starts
    CHECK(daemon.log().find("pruned 1 blob(s) no model uses") != std::string::npos);
    httplib::Client after = daemon.client();
    CHECK(post(after, "/api/generate", json{{"model", "kept"}, {"prompt", "Once"}, {"stream", false}, {"options", {{"num_predict", 2}}}}.dump(), 200)
              .at("done") == true);
}

TEST_SUITE_END();

}  // namespace test_serve_store
