// `rockllm serve` as a separate process on a free loopback port with a temporary model store,
// for the tests that drive it over HTTP.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <sys/types.h>

#include "test_support.h"

namespace rockllm::test {

int free_port();

// Writes stories260K into the store as "stories:latest" the way Ollama lays it out on disk.
void write_stories_manifest(const std::filesystem::path& store);

using Env = std::vector<std::pair<std::string, std::string>>;

class Daemon {
public:
    // env: extra variables for the daemon; with_stories: start with stories:latest in the store.
    explicit Daemon(Env env = {}, bool with_stories = true);
    ~Daemon();
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;

    // SIGTERM, and the exit status once it has stopped.
    int stop();
    // Stops it and starts it again on the same port and store (its log goes on).
    void restart();
    int port() const { return port_; }
    pid_t pid() const { return pid_; }
    std::filesystem::path store() const { return dir_.path() / "models"; }
    std::string log() const;
    httplib::Client client() const;

private:
    void start();

    Env env_;
    pid_t pid_ = -1;
    int port_ = 0;
    ScratchDir dir_;
};

// POST with a JSON body; checks the status and returns the parsed body (discarded when not JSON).
nlohmann::json post(httplib::Client& c, const std::string& path, const std::string& body, int expected_status);
// stories260K with string metadata entries replaced or added, as GGUF bytes.
std::string stories_with_metadata(const std::vector<std::pair<std::string, std::string>>& strings);
// Uploads a GGUF as a blob and creates a model from it.
void create_from_gguf(httplib::Client& c, const std::string& name, const std::string& gguf);
// Uploads stories260K as a blob and creates `name` from it through /api/create.
void create_stories(httplib::Client& c, const std::string& name, const nlohmann::json& extra = nlohmann::json::object());
// The NDJSON lines of a body.
std::vector<nlohmann::json> ndjson_lines(const std::string& body);

}  // namespace rockllm::test
