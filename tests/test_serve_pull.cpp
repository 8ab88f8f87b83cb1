// /api/pull against a registry the test runs: progress lines, a download cut and resumed with a
// Range request, a blob that does not match its digest, a missing model, a new version of a tag.
#include <doctest/doctest.h>

#include <filesystem>

#include "local_registry.h"
#include "models/sha256.h"
#include "serve_fixture.h"

namespace test_serve_pull {

using nlohmann::json;
using rockllm::test::Daemon;
using rockllm::test::digest_of;
using rockllm::test::LocalRegistry;
using rockllm::test::post;
namespace fs = std::filesystem;

namespace {

std::vector<json> pull(httplib::Client& c, const std::string& name) {
    auto r = c.Post("/api/pull", json{{"model", name}, {"insecure", true}}.dump(), "application/json");
    REQUIRE(r);
    CHECK(r->status == 200);
    return rockllm::test::ndjson_lines(r->body);
}

}  // namespace

TEST_SUITE_BEGIN("serve");

TEST_CASE("serve: pull from a registry, resuming a cut download and refusing a corrupt blob") {
    LocalRegistry registry;
    const std::string gguf = rockllm::test::read_text(rockllm::test::testdata("models/stories260K.gguf"));
    const std::string config = R"({"model_format":"gguf","model_family":"llama","model_type":"292.80K","file_type":"F32"})";
    const std::string params = R"({"stop":["Lily"]})";
    registry.add_blob(digest_of(gguf), gguf);
    registry.add_blob(digest_of(config), config);
    registry.add_blob(digest_of(params), params);
    const std::string manifest = rockllm::test::make_manifest(
        digest_of(config), config.size(),
        {{"application/vnd.ollama.image.model", digest_of(gguf), gguf.size()},
         {"application/vnd.ollama.image.params", digest_of(params), params.size()}});
    registry.add_manifest("library/tiny:latest", manifest);

    Daemon daemon({}, /*with_stories=*/false);
    httplib::Client c = daemon.client();
    const std::string name = "127.0.0.1:" + std::to_string(registry.port()) + "/library/tiny";

    // The first attempt loses its connection 300 kB into the weights: an error line, no model, a partial file.
    registry.cut_next_download(digest_of(gguf), 300000);
    std::vector<json> lines = pull(c, name);
    REQUIRE(!lines.empty());
    CHECK(lines.front() == json{{"status", "pulling manifest"}});
    REQUIRE(lines.back().contains("error"));
    CHECK(lines.back()["error"].get<std::string>().find("pull again to resume") != std::string::npos);
    CHECK(json::parse(c.Get("/api/tags")->body).at("models").empty());
    const fs::path partial = daemon.store() / "blobs" / (".partial-sha256-" + digest_of(gguf).substr(7));
    REQUIRE(fs::exists(partial));
    const auto kept = fs::file_size(partial);
    CHECK(kept > 0);
    CHECK(kept <= 300000);
    CHECK_FALSE(fs::exists(daemon.store() / "blobs" / ("sha256-" + digest_of(gguf).substr(7))));

    // The second attempt resumes where the first stopped.
    lines = pull(c, name);
    REQUIRE(lines.size() >= 6);
    CHECK(lines.back() == json{{"status", "success"}});
    CHECK(lines[lines.size() - 2] == json{{"status", "writing manifest"}});
    CHECK(lines[lines.size() - 3] == json{{"status", "verifying sha256 digest"}});
    bool saw_model_progress = false;
    for (const json& l : lines) {
        if (l.value("digest", "") != digest_of(gguf)) continue;
        saw_model_progress = true;
        CHECK(l.at("status") == "pulling " + digest_of(gguf).substr(7, 12));
        CHECK(l.at("total") == gguf.size());
        CHECK(l.at("completed").get<size_t>() <= gguf.size());
    }
    CHECK(saw_model_progress);
    const auto ranges = registry.ranges_seen();
    CHECK(std::find(ranges.begin(), ranges.end(), "bytes=" + std::to_string(kept) + "-") != ranges.end());
    CHECK_FALSE(fs::exists(partial));

    // Stored byte for byte; listed under its full name; it runs (with the pulled params layer).
    const json models = json::parse(c.Get("/api/tags")->body).at("models");
    REQUIRE(models.size() == 1);
    CHECK(models[0].at("name") == name + ":latest");
    CHECK(models[0].at("digest") == rockllm::sha256_hex(manifest));
    CHECK(rockllm::test::read_text((daemon.store() / "manifests" / ("127.0.0.1:" + std::to_string(registry.port())) /
                                    "library/tiny/latest").string()) == manifest);
    CHECK(rockllm::sha256_file_hex((daemon.store() / "blobs" / ("sha256-" + digest_of(gguf).substr(7))).string()) ==
          digest_of(gguf).substr(7));
    const json generated = post(c, "/api/generate",
                                json{{"model", name}, {"prompt", "Once upon a time"}, {"raw", true}, {"stream", false},
                                     {"options", {{"temperature", 0}, {"num_predict", 60}}}}.dump(), 200);
    CHECK(generated.at("done_reason") == "stop");  // "Lily" from the params layer

    // Pulling again downloads nothing: every layer is complete at once.
    const size_t downloads_before = registry.ranges_seen().size();
    lines = pull(c, name);
    CHECK(lines.back() == json{{"status", "success"}});
    CHECK(registry.ranges_seen().size() == downloads_before);

    // A new version of the tag: its blob replaces the old params blob, which nothing else uses.
    const std::string params2 = R"({"stop":["Tim"]})";
    registry.add_blob(digest_of(params2), params2);
    registry.add_manifest("library/tiny:latest", rockllm::test::make_manifest(
        digest_of(config), config.size(),
        {{"application/vnd.ollama.image.model", digest_of(gguf), gguf.size()},
         {"application/vnd.ollama.image.params", digest_of(params2), params2.size()}}));
    CHECK(pull(c, name).back() == json{{"status", "success"}});
    CHECK_FALSE(fs::exists(daemon.store() / "blobs" / ("sha256-" + digest_of(params).substr(7))));
    CHECK(fs::exists(daemon.store() / "blobs" / ("sha256-" + digest_of(params2).substr(7))));

    // A blob that does not match its digest never takes its name, and no partial stays.
    const std::string claimed = "sha256:" + std::string(64, 'e');
    registry.add_blob(claimed, "not what the digest says");
    registry.add_manifest("library/bad:latest", rockllm::test::make_manifest(
        digest_of(config), config.size(), {{"application/vnd.ollama.image.model", claimed, 24}}));
    lines = pull(c, "127.0.0.1:" + std::to_string(registry.port()) + "/library/bad");
    CHECK(lines.back() == json{{"error", "digest mismatch, file must be downloaded again"}});
    CHECK_FALSE(fs::exists(daemon.store() / "blobs" / ("sha256-" + claimed.substr(7))));
    CHECK_FALSE(fs::exists(daemon.store() / "blobs" / (".partial-sha256-" + claimed.substr(7))));

    // A model the registry does not have; an invalid name; the non-streaming form.
    lines = pull(c, "127.0.0.1:" + std::to_string(registry.port()) + "/library/none");
    CHECK(lines.back() == json{{"error", "pull model manifest: file does not exist"}});
    CHECK(post(c, "/api/pull", R"({"model":"../x"})", 400).at("error") == "invalid model name");
    CHECK(post(c, "/api/pull", json{{"name", "127.0.0.1:" + std::to_string(registry.port()) + "/library/none"}, {"insecure", true}, {"stream", false}}.dump(), 500)
              .at("error") == "pull model manifest: file does not exist");
    CHECK(post(c, "/api/pull", json{{"name", name}, {"insecure", true}, {"stream", false}}.dump(), 200).at("status") == "success");
    CHECK(json::parse(c.Get("/api/tags")->body).at("models").size() == 1);

    // A hostile registry: layer sizes that overflow a 64-bit sum, and a manifest of 5 MB.
    const int64_t half = INT64_MAX / 2 + 1;
    registry.add_manifest("library/huge:latest", rockllm::test::make_manifest(
        digest_of(config), config.size(),
        {{"application/vnd.ollama.image.model", "sha256:" + std::string(64, 'c'), static_cast<size_t>(half)},
         {"application/vnd.ollama.image.params", "sha256:" + std::string(64, 'd'), static_cast<size_t>(half)}}));
    lines = pull(c, "127.0.0.1:" + std::to_string(registry.port()) + "/library/huge");
    CHECK(lines.back().value("error", "").find("add up to more than any disk holds") != std::string::npos);
    registry.add_manifest("library/long:latest", manifest + std::string(5 << 20, ' '));
    lines = pull(c, "127.0.0.1:" + std::to_string(registry.port()) + "/library/long");
    CHECK(lines.back().value("error", "").find("the registry sent more than") != std::string::npos);
    // A manifest that understates a layer (1000 bytes) whose blob the registry sends whole.
    const std::string other_gguf = gguf + "trailing bytes";
    registry.add_blob(digest_of(other_gguf), other_gguf);
    registry.add_manifest("library/liar:latest", rockllm::test::make_manifest(
        digest_of(config), config.size(), {{"application/vnd.ollama.image.model", digest_of(other_gguf), 1000}}));
    lines = pull(c, "127.0.0.1:" + std::to_string(registry.port()) + "/library/liar");
    CHECK(lines.back().value("error", "") == "the registry sent more than the 1000 bytes the manifest announces for " + digest_of(other_gguf));
    CHECK_FALSE(fs::exists(daemon.store() / "blobs" / ("sha256-" + digest_of(other_gguf).substr(7))));
    CHECK_FALSE(fs::exists(daemon.store() / "blobs" / (".partial-sha256-" + digest_of(other_gguf).substr(7))));
    CHECK(json::parse(c.Get("/api/tags")->body).at("models").size() == 1);
}

TEST_CASE("serve: create from a model the store lacks pulls it first, as Ollama's create does") {
    LocalRegistry registry;
    const std::string gguf = rockllm::test::read_text(rockllm::test::testdata("models/stories260K.gguf"));
    const std::string config = R"({"model_format":"gguf","model_family":"llama","model_type":"292.80K","file_type":"F32"})";
    registry.add_blob(digest_of(gguf), gguf);
    registry.add_blob(digest_of(config), config);
    registry.add_manifest("library/tiny:latest", rockllm::test::make_manifest(digest_of(config), config.size(),
                                                                              {{"application/vnd.ollama.image.model", digest_of(gguf), gguf.size()}}));
    Daemon daemon({}, /*with_stories=*/false);
    httplib::Client c = daemon.client();
    const std::string base = "127.0.0.1:" + std::to_string(registry.port()) + "/library/tiny";

    auto created = c.Post("/api/create", json{{"model", "derived"}, {"from", base}, {"system", "Be brief."}, {"insecure", true}}.dump(),
                          "application/json");
    REQUIRE(created);
    CHECK(created->status == 200);
    const std::vector<json> lines = rockllm::test::ndjson_lines(created->body);
    REQUIRE(!lines.empty());
    CHECK(lines.front() == json{{"status", "pulling manifest"}});
    CHECK(lines.back() == json{{"status", "success"}});
    const json models = json::parse(c.Get("/api/tags")->body).at("models");
    CHECK(models.size() == 2);  // the base, pulled, and the new model on top of it
    CHECK(post(c, "/api/show", R"({"model":"derived"})", 200).at("system") == "Be brief.");
    CHECK(post(c, "/api/show", json{{"model", base}}.dump(), 200).at("details").at("family") == "llama");

    // A base that cannot be pulled: 404 with the pull's reason.
    CHECK(post(c, "/api/create", json{{"model", "x"}, {"from", base + "-nope"}, {"insecure", true}}.dump(), 404)
              .at("error").get<std::string>().rfind("model '" + base + "-nope' not found, and pulling it failed: ", 0) == 0);
}

TEST_SUITE_END();

}  // namespace test_serve_pull
