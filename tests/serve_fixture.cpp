#include "serve_fixture.h"

#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "llm/gguf_writer.h"
#include "models/sha256.h"

namespace rockllm::test {

using nlohmann::json;
namespace fs = std::filesystem;

int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

void write_stories_manifest(const fs::path& root) {
    fs::create_directories(root / "blobs");
    const std::string gguf = read_text(testdata("models/stories260K.gguf"));
    const std::string model_digest = "sha256:" + sha256_hex(gguf);
    std::ofstream(root / "blobs" / ("sha256-" + model_digest.substr(7)), std::ios::binary) << gguf;
    const std::string config = R"({"model_format":"gguf","model_family":"llama"})";
    const std::string config_digest = "sha256:" + sha256_hex(config);
    std::ofstream(root / "blobs" / ("sha256-" + config_digest.substr(7))) << config;
    const json manifest = {
        {"schemaVersion", 2},
        {"mediaType", "application/vnd.docker.distribution.manifest.v2+json"},
        {"config", {{"mediaType", "application/vnd.docker.container.image.v1+json"}, {"digest", config_digest}, {"size", config.size()}}},
        {"layers", {{{"mediaType", "application/vnd.ollama.image.model"}, {"digest", model_digest}, {"size", gguf.size()}}}}};
    fs::create_directories(root / "manifests/registry.ollama.ai/library/stories");
    std::ofstream(root / "manifests/registry.ollama.ai/library/stories/latest") << manifest.dump();
}

Daemon::Daemon(Env env, bool with_stories) : env_(std::move(env)) {
    fs::create_directories(store());
    if (with_stories) write_stories_manifest(store());
    port_ = free_port();
    start();
}

void Daemon::restart() {
    stop();
    start();
}

void Daemon::start() {
    const Env& env = env_;
    pid_ = ::fork();
    if (pid_ == 0) {
        ::setenv("OLLAMA_HOST", ("127.0.0.1:" + std::to_string(port_)).c_str(), 1);
        ::setenv("OLLAMA_MODELS", store().c_str(), 1);
        for (const auto& [name, value] : env) ::setenv(name.c_str(), value.c_str(), 1);
        const std::string log_path = (dir_.path() / "serve.log").string();
        if (!std::freopen(log_path.c_str(), "a", stderr)) ::_exit(126);
        ::execl(ROCKLLM_BINARY, ROCKLLM_BINARY, "serve", static_cast<char*>(nullptr));
        ::_exit(127);
    }
    httplib::Client c("127.0.0.1", port_);
    for (int i = 0; i < 200; ++i) {  // up to 10 s for the listener
        if (auto r = c.Get("/")) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL("rockllm serve did not start listening: " << log());
}

Daemon::~Daemon() {
    if (pid_ > 0) stop();
}

int Daemon::stop() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string Daemon::log() const { return read_text((dir_.path() / "serve.log").string()); }

httplib::Client Daemon::client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(300, 0);
    return c;
}

json post(httplib::Client& c, const std::string& path, const std::string& body, int expected_status) {
    auto r = c.Post(path.c_str(), body, "application/json");
    REQUIRE(r);
    CHECK_MESSAGE(r->status == expected_status, path << " " << body.substr(0, 200) << " -> " << r->status << " " << r->body.substr(0, 300));
    return json::parse(r->body, nullptr, false);
}

std::string stories_with_metadata(const std::vector<std::pair<std::string, std::string>>& strings) {
    const gguf::File original = gguf::File::open(testdata("models/stories260K.gguf"));
    gguf::Writer w;
    for (const auto& [key, value] : original.metadata().entries()) w.set(key, value);
    for (const auto& [key, value] : strings) w.set(key, gguf::Value(value));
    for (const auto& t : original.tensors()) w.add_tensor(t.name, t.type, t.shape, std::vector<uint8_t>(t.data, t.data + t.size_bytes));
    const std::vector<uint8_t> bytes = w.to_bytes();
    return std::string(bytes.begin(), bytes.end());
}

void create_from_gguf(httplib::Client& c, const std::string& name, const std::string& gguf) {
    const std::string digest = "sha256:" + sha256_hex(gguf);
    auto upload = c.Post(("/api/blobs/" + digest).c_str(), gguf, "application/octet-stream");
    REQUIRE(upload);
    REQUIRE(upload->status == 201);
    const json answer = post(c, "/api/create", json{{"model", name}, {"files", {{"model.gguf", digest}}}, {"stream", false}}.dump(), 200);
    REQUIRE(answer.value("status", "") == "success");
}

void create_stories(httplib::Client& c, const std::string& name, const json& extra) {
    const std::string gguf = read_text(testdata("models/stories260K.gguf"));
    const std::string digest = "sha256:" + sha256_hex(gguf);
    auto head = c.Head(("/api/blobs/" + digest).c_str());
    REQUIRE(head);
    if (head->status != 200) {
        auto upload = c.Post(("/api/blobs/" + digest).c_str(), gguf, "application/octet-stream");
        REQUIRE(upload);
        REQUIRE(upload->status == 201);
    }
    json request = {{"model", name}, {"files", {{"stories260K.gguf", digest}}}, {"stream", false}};
    request.update(extra);
    const json answer = post(c, "/api/create", request.dump(), 200);
    REQUIRE(answer.value("status", "") == "success");
}

std::vector<json> ndjson_lines(const std::string& body) {
    std::vector<json> out;
    std::istringstream lines(body);
    std::string line;
    while (std::getline(lines, line))
        if (!line.empty()) out.push_back(json::parse(line));
    return out;
}

}  // namespace rockllm::test
