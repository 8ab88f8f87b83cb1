// The model store, laid out exactly as Ollama's (so an existing ~/.ollama/models is used as is):
//   manifests/<host>/<namespace>/<model>/<tag>   Docker v2 manifest JSON naming the layers
//   blobs/sha256-<64 hex>                         content-addressed layer data
// Paths are only ever built from validated names and digests. Every write is atomic (see
// atomic_file.h): a blob takes its final name only after its digest was verified, a manifest only
// when complete. Callers serialise writers (the server holds one lock for store changes).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "base/atomic_file.h"
#include "models/model_name.h"
#include "models/sha256.h"

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

// Thrown when data does not hash to the digest it was announced with.
class DigestMismatch : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Receives a blob's bytes, hashing them on the way; commit() checks the digest before the blob
// appears under its final name. Abandoned (destroyed uncommitted) writes leave nothing behind.
class BlobWriter {
public:
    BlobWriter(std::filesystem::path final_path, std::string expected_digest);
    void write(const void* data, size_t size);
    int64_t bytes_written() const { return written_; }
    // Throws DigestMismatch ("digest mismatch, expected ..., got ...") and removes the data.
    void commit();

private:
    std::string expected_digest_;
    AtomicFileWriter file_;
    Sha256 hash_;
    int64_t written_ = 0;
};

// The blobs that writes in progress are about to reference (a pull checks a layer it already has,
// then downloads the others before it writes the manifest): no removal takes a pinned blob.
struct BlobPins {
    std::mutex mutex;  // also held while a removal decides which blobs go
    std::multiset<std::string> hexes;
};

// Pins blobs for as long as it lives.
class BlobPin {
public:
    BlobPin(std::shared_ptr<BlobPins> pins, std::vector<std::string> hexes);
    ~BlobPin();
    BlobPin(const BlobPin&) = delete;
    BlobPin& operator=(const BlobPin&) = delete;

private:
    std::shared_ptr<BlobPins> pins_;
    std::vector<std::string> hexes_;
};

// What the sweep at start removed, or why it left the blobs alone.
struct StoreSweep {
    int temporaries = 0;  // files of interrupted writes and abandoned partial downloads
    int blobs = 0;        // blobs no manifest references
    int64_t blob_bytes = 0;
    std::string blobs_skipped;  // why unreferenced blobs were kept ("" when they were looked at)
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

    // Path of a blob (its hex in lower case); throws std::invalid_argument unless digest is
    // "sha256:" or "sha256-" + 64 hex.
    std::filesystem::path blob_path(const std::string& digest) const;
    std::filesystem::path manifest_path(const ModelName& name) const;
    // The name with each part spelled as the store already spells it when they differ only in
    // case (Ollama's getExistingName): writing "Stories" updates "stories", never a second model.
    ModelName stored_spelling(const ModelName& name) const;
    bool has_blob(const std::string& digest) const;
    // Where files derived from blobs are kept (the NPU's converted weights), named after the
    // blob's file name; they go when the blob goes.
    std::filesystem::path derived_dir() const { return root_ / "rockllm-npu"; }

    // Writing. Blobs are content-addressed, so writing an existing one is harmless.
    std::unique_ptr<BlobWriter> begin_blob(const std::string& digest) const;
    std::string write_blob(std::string_view bytes) const;  // returns its digest
    // Where a blob made by the server (a re-quantized GGUF) is written before its digest is known:
    // a temporary name in blobs/, which the sweeps remove if the write never finishes.
    std::filesystem::path new_temporary_blob_path() const;
    // Moves such a finished file to its digest's name (or drops it when that blob exists); returns
    // the digest.
    std::string adopt_blob(const std::filesystem::path& file) const;
    // Writes the manifest bytes verbatim (their hash is the model's digest).
    void write_manifest(const ModelName& name, const std::string& bytes) const;
    // Writes a new version of a model (a pull, a create, a copy onto an existing name) and removes
    // the blobs only the old version used.
    void replace_manifest(const ModelName& name, const std::string& bytes) const;
    void copy(const StoredModel& source, const ModelName& destination) const;
    // Keeps these blobs (digests) from every removal until the pin goes.
    std::unique_ptr<BlobPin> pin(const std::vector<std::string>& digests) const;
    // Removes the manifest, then those of its blobs that no remaining manifest references, then
    // directories left empty. Blobs the model did not reference are never touched, so a store
    // shared with Ollama keeps whatever Ollama is in the middle of writing.
    void remove(const StoredModel& model) const;
    // Removes the temporary files (".tmp-*") of writes a crash interrupted, once they are an hour
    // old (younger ones may belong to a write in progress), and the partial downloads of pulls
    // (".partial-*") not resumed for a day. Returns how many went.
    int remove_stale_temporaries(std::chrono::seconds min_temporary_age = std::chrono::hours(1)) const;
    // At the start of the only server using the store (the caller holds its StoreLock): every
    // temporary file (no write is in progress), partial downloads not resumed for a day, and,
    // with prune_blobs (Ollama's default, OLLAMA_NOPRUNE turns it off), the blobs no manifest
    // references once they are an hour old (a younger one may be an upload waiting for its
    // create, or a pull of Ollama's in the same store), as Ollama prunes at its start. Blobs are
    // kept whole when a manifest cannot be read: the blobs it names would look unreferenced.
    StoreSweep sweep_at_start(bool prune_blobs) const;

private:
    // Removes those blobs of the manifest that no stored manifest references and none is pinned.
    void remove_unreferenced(const Manifest& manifest) const;
    // Removes a blob and what was derived from it; the caller holds pins_->mutex. Returns its size
    // when it went, -1 otherwise.
    int64_t remove_blob(const std::string& hex) const;
    // Every readable model; unreadable manifests are counted in *unreadable when given.
    std::vector<StoredModel> scan(int* unreadable) const;

    std::filesystem::path root_;
    std::shared_ptr<BlobPins> pins_ = std::make_shared<BlobPins>();  // shared by copies of the store
};

// An advisory lock on the store's blobs directory, held by the one server that may treat every
// temporary file in it as abandoned. try_acquire returns nullptr when another process holds it.
class StoreLock {
public:
    static std::unique_ptr<StoreLock> try_acquire(const std::filesystem::path& root);
    ~StoreLock();
    StoreLock(const StoreLock&) = delete;
    StoreLock& operator=(const StoreLock&) = delete;

private:
    explicit StoreLock(int fd) : fd_(fd) {}
    int fd_;
};

// Parses manifest JSON; throws std::runtime_error naming what is wrong.
Manifest parse_manifest(const std::string& bytes);
// Manifest JSON in the form Ollama writes (Docker distribution v2).
std::string serialize_manifest(const Manifest& manifest);

// "sha256:<hex>" with exactly 64 lower- or upper-case hex digits (a colon or a dash after sha256).
bool is_valid_digest(const std::string& digest);
// The digest's 64 hex digits in lower case: one blob file whichever case a client wrote them in.
// Throws std::invalid_argument for an invalid digest.
std::string digest_hex(const std::string& digest);

}  // namespace rockllm
