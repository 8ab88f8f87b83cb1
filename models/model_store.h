// The model store, laid out exactly as Ollama's (so an existing ~/.ollama/models is used as is):
//   manifests/<host>/<namespace>/<model>/<tag>   Docker v2 manifest JSON naming the layers
//   blobs/sha256-<64 hex>                         content-addressed layer data
// Reading side: listing, name resolution and manifest parsing. Paths are only ever built from
// validated names and digests.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "models/model_name.h"

namespace rockllm {

namespace media_type {
constexpr const char* kModel = "application/vnd.ollama.image.model";
constexpr const char* kTemplate = "application/vnd.ollama.image.template";
constexpr const char* kSystem = "application/vnd.ollama.image.system";
constexpr const char* kParams = "application/vnd.ollama.image.params";
constexpr const char* kMessages = "application/vnd.ollama.image.messages";
constexpr const char* kLicense = "application/vnd.ollama.image.license";
constexpr const char* kProjector = "application/vnd.ollama.image.projector";
constexpr const char* kAdapter = "application/vnd.ollama.image.adapter";
}  // namespace media_type

struct Layer {
    std::string media_type;
    std::string digest;  // "sha256:<64 hex>"
    int64_t size = 0;
    std::string from;  // source model, when the layer records it
};

struct Manifest {
    Layer config;
    std::vector<Layer> layers;
    std::string digest;  // sha256 of the manifest file's bytes, as /api/tags reports it
    int64_t total_size() const;
    const Layer* first(const char* media_type) const;
};

struct StoredModel {
    ModelName name;
    Manifest manifest;
    std::filesystem::file_time_type modified;
};

class ModelStore {
public:
    explicit ModelStore(std::filesystem::path root);

    const std::filesystem::path& root() const { return root_; }

    // Every readable model, sorted by display name. Unreadable manifests are skipped, not fatal.
    std::vector<StoredModel> list() const;
    // The model a name refers to (matched case-insensitively, as Ollama does); nullopt if none.
    std::optional<StoredModel> find(const ModelName& name) const;

    // Path of a blob; throws std::invalid_argument unless digest is "sha256:" or "sha256-" + 64 hex.
    std::filesystem::path blob_path(const std::string& digest) const;
    std::filesystem::path manifest_path(const ModelName& name) const;

private:
    std::filesystem::path root_;
};

// Parses manifest JSON; throws std::runtime_error naming what is wrong.
Manifest parse_manifest(const std::string& bytes);

// "sha256:<hex>" with exactly 64 lower- or upper-case hex digits (a colon or a dash after sha256).
bool is_valid_digest(const std::string& digest);

}  // namespace rockllm
