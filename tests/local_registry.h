// A registry speaking the part of the Docker registry v2 protocol that `pull` uses, run inside the
// test process: manifests by tag, blobs by digest behind a redirect to a "CDN" path that honours
// Range requests, and faults to inject (a connection cut mid-blob, a blob that does not match).
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

namespace rockllm::test {

class LocalRegistry {
public:
    LocalRegistry();
    ~LocalRegistry();

    int port() const { return port_; }
    // "library/tiny:latest" → manifest bytes; blobs by "sha256:<hex>".
    void add_manifest(const std::string& repository_and_tag, const std::string& bytes);
    void add_blob(const std::string& digest, const std::string& bytes);
    // The next download of this blob sends this many bytes, then drops the connection.
    void cut_next_download(const std::string& digest, size_t after_bytes);
    // The next download of this blob waits, once it has arrived, until release_held_download().
    void hold_next_download(const std::string& digest);
    // Waits until the held download has arrived (up to 30 s; false if it did not).
    bool wait_for_held_download();
    void release_held_download();
    // Range headers received for blob downloads, in order ("" when none).
    std::vector<std::string> ranges_seen() const;

private:
    httplib::Server server_;
    std::thread thread_;
    int port_ = 0;
    mutable std::mutex mutex_;
    std::map<std::string, std::string> manifests_, blobs_;
    std::map<std::string, size_t> cuts_;
    std::vector<std::string> ranges_;
    std::condition_variable held_changed_;
    std::string held_digest_;
    bool held_arrived_ = false, held_released_ = false;
};

// "sha256:<hex>" of some bytes, as manifests name blobs.
std::string digest_of(const std::string& bytes);

// An Ollama-style manifest JSON for the given config and layers (media type, digest, size).
std::string make_manifest(const std::string& config_digest, size_t config_size,
                          const std::vector<std::tuple<std::string, std::string, size_t>>& layers);

}  // namespace rockllm::test
