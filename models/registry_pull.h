// Pulling a model from an Ollama registry (Docker registry v2 protocol): the manifest by tag, then
// each blob by digest (following redirects to a CDN), resumed with a Range request from the partial
// file a previous attempt left, hashed while it arrives, and renamed to its final name only once
// the digest matches. The manifest is written last, byte for byte as the registry sent it.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "models/model_store.h"

namespace rockllm {

class PullError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// One download per digest at a time: a second pull of the same blob waits, then finds it stored.
class DownloadLocks {
public:
    std::unique_lock<std::mutex> lock(const std::string& digest);

private:
    std::mutex mutex_;
    std::map<std::string, std::unique_ptr<std::mutex>> locks_;
};

struct PullOptions {
    bool insecure = false;      // plain http, as `ollama pull --insecure`
    std::string user_agent = "ollama/0.33.0 (rockllm)";
};

// progress receives Ollama's pull status objects and returns false to stop (a client went away);
// a stopped or failed download keeps its partial file for the next attempt. store_mutex is held
// only while the manifest is written. Throws PullError with Ollama's messages.
void pull_model(const ModelStore& store, const ModelName& name, const PullOptions& options, DownloadLocks& locks,
                std::mutex& store_mutex, const std::function<bool(const nlohmann::json&)>& progress);

// Where an interrupted download of a blob waits to be resumed.
std::filesystem::path partial_blob_path(const ModelStore& store, const std::string& digest);

}  // namespace rockllm
