#include "models/registry_pull.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <cstdio>

#include <fcntl.h>
#include <httplib.h>
#include <unistd.h>

#include "base/ascii.h"
#include "models/sha256.h"

namespace rockllm {

namespace fs = std::filesystem;
using nlohmann::json;

std::unique_lock<std::mutex> DownloadLocks::lock(const std::string& digest) {
    std::mutex* m;
    {
        std::lock_guard guard(mutex_);
        auto& slot = locks_[digest.substr(7)];
        if (!slot) slot = std::make_unique<std::mutex>();
        m = slot.get();
    }
    return std::unique_lock(*m);
}

fs::path partial_blob_path(const ModelStore& store, const std::string& digest) {
    const fs::path final_path = store.blob_path(digest);  // validates the digest
    // A dot name of our own: Ollama keeps its partial downloads under other names.
    return final_path.parent_path() / (".partial-" + final_path.filename().string());
}

namespace {

constexpr size_t kMaxManifestBytes = size_t{4} << 20;  // Ollama's manifests are a few kilobytes

class Stopped : public std::exception {};

// "4.7 GB", or MB / KB for the small sizes a disk-space message may need.
std::string size_text(int64_t bytes) {
    char buffer[32];
    const auto b = static_cast<double>(bytes);
    if (b >= 1e9) std::snprintf(buffer, sizeof buffer, "%.1f GB", b / 1e9);
    else if (b >= 1e6) std::snprintf(buffer, sizeof buffer, "%.1f MB", b / 1e6);
    else std::snprintf(buffer, sizeof buffer, "%.1f KB", b / 1e3);
    return buffer;
}

// The file a download appends to; closed on every path out.
class PartialFile {
public:
    explicit PartialFile(const fs::path& path) : path_(path) {
        fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd_ < 0) throw PullError("cannot write '" + path.string() + "'");
    }
    ~PartialFile() {
        if (fd_ >= 0) ::close(fd_);
    }
    void truncate() {
        if (::ftruncate(fd_, 0) != 0) throw PullError("cannot truncate '" + path_.string() + "'");
    }
    void write(const char* data, size_t size) {
        while (size > 0) {
            const ssize_t n = ::write(fd_, data, size);
            if (n < 0) {
                if (errno == EINTR) continue;
                throw PullError("cannot write '" + path_.string() + "': " + std::strerror(errno));
            }
            data += n;
            size -= static_cast<size_t>(n);
        }
    }
    void sync() {
        if (::fsync(fd_) != 0) throw PullError("cannot flush '" + path_.string() + "'");
    }

private:
    fs::path path_;
    int fd_ = -1;
};

class Puller {
public:
    Puller(const ModelStore& store, const ModelName& name, const PullOptions& options,
           const std::function<bool(const json&)>& progress)
        : store_(store), name_(name), progress_(progress),
          client_((options.insecure ? "http://" : "https://") + name.host) {
        client_.set_follow_location(true);  // blobs redirect to a CDN
        client_.set_connection_timeout(10, 0);
        client_.set_read_timeout(60, 0);
        client_.set_default_headers({{"User-Agent", options.user_agent}});
    }

    std::string fetch_manifest() {
        const std::string path = "/v2/" + name_.name_space + "/" + name_.model + "/manifests/" + name_.tag;
        // A manifest lists a handful of layers in a few kilobytes; a registry that sends more is
        // cut off, not held in memory.
        std::string body;
        bool too_large = false;
        auto res = client_.Get(path.c_str(), {{"Accept", "application/vnd.docker.distribution.manifest.v2+json"}},
                               [&](const char* data, size_t size) {
                                   too_large = body.size() + size > kMaxManifestBytes;
                                   if (!too_large) body.append(data, size);
                                   return !too_large;
                               });
        if (too_large) throw PullError("pull model manifest: the registry sent more than " + std::to_string(kMaxManifestBytes) + " bytes");
        if (!res) throw PullError("pull model manifest: cannot reach " + name_.host + " (" + httplib::to_string(res.error()) + ")");
        if (res->status == 404) throw PullError("pull model manifest: file does not exist");
        if (res->status == 401 || res->status == 403)
            throw PullError("pull model manifest: the registry requires authentication, which rockllm does not do");
        if (res->status != 200) throw PullError("pull model manifest: registry answered HTTP " + std::to_string(res->status));
        return body;
    }

    void report(const json& status) {
        if (!progress_(status)) throw Stopped();
    }

    void report_layer(const Layer& layer, int64_t completed) {
        report({{"status", "pulling " + layer.digest.substr(7, 12)}, {"digest", layer.digest}, {"total", layer.size}, {"completed", completed}});
    }

    void download(const Layer& layer) {
        const fs::path partial = partial_blob_path(store_, layer.digest);
        std::error_code ec;
        int64_t have = fs::exists(partial, ec) ? static_cast<int64_t>(fs::file_size(partial, ec)) : 0;
        if (ec || have > layer.size) {
            fs::remove(partial, ec);
            have = 0;
        }
        Sha256 hash;
        if (have > 0) hash = hash_of_prefix(partial);
        PartialFile file(partial);
        report_layer(layer, have);

        const std::string path = "/v2/" + name_.name_space + "/" + name_.model + "/blobs/" + layer.digest;
        httplib::Headers headers;
        if (have > 0) headers.emplace("Range", "bytes=" + std::to_string(have) + "-");
        int status = 0;
        int64_t received = have;
        bool client_gone = false, oversized = false;
        auto last_report = std::chrono::steady_clock::now();
        auto res = client_.Get(
            path.c_str(), headers,
            [&](const httplib::Response& response) {
                status = response.status;
                if (status == 200 && have > 0) {  // the server ignored the range: start over
                    file.truncate();
                    hash = Sha256();
                    received = 0;
                }
                return status == 200 || status == 206;
            },
            [&](const char* data, size_t size) {
                if (received + static_cast<int64_t>(size) > layer.size) {
                    oversized = true;  // the manifest lied about the size, or the blob is another
                    return false;
                }
                file.write(data, size);
                hash.update(data, size);
                received += static_cast<int64_t>(size);
                const auto now = std::chrono::steady_clock::now();
                if (now - last_report > std::chrono::milliseconds(100)) {
                    last_report = now;
                    client_gone = !progress_({{"status", "pulling " + layer.digest.substr(7, 12)}, {"digest", layer.digest},
                                              {"total", layer.size}, {"completed", received}});
                    if (client_gone) return false;
                }
                return true;
            });
        file.sync();
        if (status == 404) throw PullError("pull model: blob " + layer.digest + " does not exist in the registry");
        if (status != 0 && status != 200 && status != 206)
            throw PullError("pull model: registry answered HTTP " + std::to_string(status) + " for blob " + layer.digest);
        if (oversized) {
            fs::remove(partial, ec);
            throw PullError("the registry sent more than the " + std::to_string(layer.size) + " bytes the manifest announces for " +
                            layer.digest);
        }
        if (received < layer.size) {
            if (client_gone) throw Stopped();
            throw PullError("download of " + layer.digest + " stopped at " + std::to_string(received) + " of " +
                            std::to_string(layer.size) + " bytes; pull again to resume");
        }
        const std::string expected = ascii_lower(layer.digest.substr(7));
        if (received > layer.size || hash.hex() != expected) {
            fs::remove(partial, ec);
            throw PullError("digest mismatch, file must be downloaded again");
        }
        if (::rename(partial.c_str(), store_.blob_path(layer.digest).c_str()) != 0)
            throw PullError("cannot store blob " + layer.digest);
        report_layer(layer, layer.size);
    }

private:
    static Sha256 hash_of_prefix(const fs::path& path) {
        Sha256 hash;
        std::FILE* f = std::fopen(path.c_str(), "rb");
        if (!f) throw PullError("cannot read '" + path.string() + "'");
        std::vector<char> buffer(1 << 20);
        size_t n;
        while ((n = std::fread(buffer.data(), 1, buffer.size(), f)) > 0) hash.update(buffer.data(), n);
        std::fclose(f);
        return hash;
    }

    const ModelStore& store_;
    const ModelName& name_;
    const std::function<bool(const json&)>& progress_;
    httplib::Client client_;
};

}  // namespace

void pull_model(const ModelStore& store, const ModelName& name, const PullOptions& options, DownloadLocks& locks,
                std::mutex& store_mutex, const std::function<bool(const json&)>& progress) {
    Puller puller(store, name, options, progress);
    try {
        puller.report({{"status", "pulling manifest"}});
        const std::string manifest_bytes = puller.fetch_manifest();
        Manifest manifest;
        try {
            manifest = parse_manifest(manifest_bytes);
        } catch (const std::exception& e) {
            throw PullError(std::string("pull model manifest: ") + e.what());
        }
        std::vector<Layer> layers = manifest.layers;
        layers.push_back(manifest.config);
        // A layer found in the store stays there until the manifest naming it is written, even if
        // the model that shares it is deleted meanwhile.
        std::vector<std::string> digests;
        for (const Layer& l : layers) digests.push_back(l.digest);
        const auto pinned = store.pin(digests);

        int64_t missing = 0;
        for (const Layer& l : layers)
            // Sizes come from the registry: a sum that overflows must not pass the space check.
            if (!store.has_blob(l.digest) && __builtin_add_overflow(missing, l.size, &missing))
                throw PullError("pull model manifest: the layers' sizes add up to more than any disk holds");
        std::error_code ec;
        fs::create_directories(store.root() / "blobs", ec);
        const auto space = fs::space(store.root() / "blobs", ec);
        if (!ec && static_cast<int64_t>(space.available) < missing)
            throw PullError("not enough disk space: the model needs " + size_text(missing) + ", " +
                            size_text(static_cast<int64_t>(space.available)) + " is free");

        for (const Layer& layer : layers) {
            const auto lock = locks.lock(layer.digest);
            if (store.has_blob(layer.digest)) puller.report_layer(layer, layer.size);
            else puller.download(layer);
        }
        puller.report({{"status", "verifying sha256 digest"}});
        puller.report({{"status", "writing manifest"}});
        {
            std::lock_guard lock(store_mutex);
            store.replace_manifest(name, manifest_bytes);
        }
        puller.report({{"status", "success"}});
    } catch (const Stopped&) {
        throw PullError("pull stopped: the client went away");
    }
}

}  // namespace rockllm
