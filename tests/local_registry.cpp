#include "local_registry.h"

#include <nlohmann/json.hpp>

#include "models/sha256.h"

namespace rockllm::test {

LocalRegistry::LocalRegistry() {
    server_.Get(R"(/v2/([^/]+)/([^/]+)/manifests/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
        std::lock_guard lock(mutex_);
        const auto it = manifests_.find(std::string(req.matches[1]) + "/" + std::string(req.matches[2]) + ":" + std::string(req.matches[3]));
        if (it == manifests_.end()) {
            res.status = 404;
            res.set_content(R"({"errors":[{"code":"MANIFEST_UNKNOWN"}]})", "application/json");
            return;
        }
        res.set_content(it->second, "application/vnd.docker.distribution.manifest.v2+json");
    });
    // The registry sends blobs elsewhere, as ollama.com redirects to its CDN.
    server_.Get(R"(/v2/[^/]+/[^/]+/blobs/(sha256:[0-9a-f]{64}))", [this](const httplib::Request& req, httplib::Response& res) {
        res.set_redirect("http://127.0.0.1:" + std::to_string(port_) + "/cdn/" + std::string(req.matches[1]), 307);
    });
    server_.Get(R"(/cdn/(sha256:[0-9a-f]{64}))", [this](const httplib::Request& req, httplib::Response& res) {
        std::unique_lock lock(mutex_);
        const std::string digest = req.matches[1];
        if (digest == held_digest_) {
            held_digest_.clear();
            held_arrived_ = true;
            held_changed_.notify_all();
            held_changed_.wait(lock, [this] { return held_released_; });
        }
        ranges_.push_back(req.get_header_value("Range"));
        const auto it = blobs_.find(digest);
        if (it == blobs_.end()) {
            res.status = 404;
            return;
        }
        const auto cut = cuts_.find(digest);
        if (cut == cuts_.end()) {
            res.set_content(it->second, "application/octet-stream");  // httplib answers Range with 206
            return;
        }
        const std::string data = it->second;
        const size_t after = cut->second;
        cuts_.erase(cut);
        res.set_content_provider(data.size(), "application/octet-stream",
                                 [data, after](size_t offset, size_t length, httplib::DataSink& sink) {
                                     if (offset >= after) return false;  // drop the connection here
                                     const size_t n = std::min(length, after - offset);
                                     sink.write(data.data() + offset, n);
                                     return true;
                                 });
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
}

LocalRegistry::~LocalRegistry() {
    release_held_download();  // a test that failed while holding one
    server_.stop();
    thread_.join();
}

void LocalRegistry::add_manifest(const std::string& name, const std::string& bytes) {
    std::lock_guard lock(mutex_);
    manifests_[name] = bytes;
}

void LocalRegistry::add_blob(const std::string& digest, const std::string& bytes) {
    std::lock_guard lock(mutex_);
    blobs_[digest] = bytes;
}

void LocalRegistry::cut_next_download(const std::string& digest, size_t after_bytes) {
    std::lock_guard lock(mutex_);
    cuts_[digest] = after_bytes;
}

void LocalRegistry::hold_next_download(const std::string& digest) {
    std::lock_guard lock(mutex_);
    held_digest_ = digest;
    held_arrived_ = held_released_ = false;
}

bool LocalRegistry::wait_for_held_download() {
    std::unique_lock lock(mutex_);
    return held_changed_.wait_for(lock, std::chrono::seconds(30), [this] { return held_arrived_; });
}

void LocalRegistry::release_held_download() {
    std::lock_guard lock(mutex_);
    held_released_ = true;
    held_changed_.notify_all();
}

std::vector<std::string> LocalRegistry::ranges_seen() const {
    std::lock_guard lock(mutex_);
    return ranges_;
}

std::string digest_of(const std::string& bytes) { return "sha256:" + sha256_hex(bytes); }

std::string make_manifest(const std::string& config_digest, size_t config_size,
                          const std::vector<std::tuple<std::string, std::string, size_t>>& layers) {
    nlohmann::ordered_json m = {{"schemaVersion", 2},
                                {"mediaType", "application/vnd.docker.distribution.manifest.v2+json"},
                                {"config", {{"mediaType", "application/vnd.docker.container.image.v1+json"}, {"digest", config_digest}, {"size", config_size}}},
                                {"layers", nlohmann::ordered_json::array()}};
    for (const auto& [type, digest, size] : layers) m["layers"].push_back({{"mediaType", type}, {"digest", digest}, {"size", size}});
    return m.dump(2);  // indented, unlike ours: the store must keep the registry's bytes as they are
}

}  // namespace rockllm::test
