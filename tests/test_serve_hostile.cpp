// Hostile requests against a running daemon: oversized, unannounced, truncated and malformed
// bodies, wrong types in every field, path-like names and digests. Each gets a 4xx with a clear
// error, nothing outside the store is touched or revealed, and the daemon keeps serving.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include "models/sha256.h"
#include "serve_fixture.h"

namespace test_serve_hostile {

using nlohmann::json;
using rockllm::test::Daemon;
using rockllm::test::post;

namespace {

// Sends raw bytes on a fresh connection and returns whatever the daemon answers until it closes
// (the requests ask for "Connection: close"; a silent daemon ends the wait after 10 s).
std::string raw_exchange(int port, const std::string& request) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    timeval timeout{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    size_t sent = 0;
    while (sent < request.size()) {
        const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<size_t>(n);
    }
    std::string answer;
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) answer.append(buf, static_cast<size_t>(n));
    ::close(fd);
    return answer;
}

int status_of(const std::string& response) {
    return response.size() > 12 ? std::atoi(response.substr(9, 3).c_str()) : 0;
}

}  // namespace

TEST_SUITE_BEGIN("serve");

TEST_CASE("serve: bodies too large, unannounced, truncated or malformed are refused before harm") {
    Daemon daemon(rockllm::test::Env{{"OLLAMA_CONTEXT_LENGTH", "128"}});  // a small window keeps the capped answer below short
    httplib::Client c = daemon.client();
    const int port = daemon.port();
    const std::string host = "Host: 127.0.0.1:" + std::to_string(port) + "\r\nConnection: close\r\n";

    // Announced larger than the limit: refused from the headers, the body is never read.
    const std::string big = raw_exchange(port, "POST /api/chat HTTP/1.1\r\n" + host + "Content-Type: application/json\r\nContent-Length: 200000000\r\n\r\n{");
    CHECK(status_of(big) == 413);
    CHECK(big.find("request body too large") != std::string::npos);
    // A chunked JSON body has no length to check: refused.
    const std::string chunked = raw_exchange(port, "POST /api/generate HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n");
    CHECK(status_of(chunked) == 411);
    // Headers beyond httplib's limits end the connection without a crash.
    const std::string long_header = raw_exchange(port, "GET /api/version HTTP/1.1\r\n" + host + "X-Junk: " + std::string(100000, 'a') + "\r\n\r\n");
    CHECK(status_of(long_header) != 200);
    const std::string long_uri = raw_exchange(port, "GET /" + std::string(100000, 'a') + " HTTP/1.1\r\n" + host + "\r\n");
    CHECK(status_of(long_uri) != 200);

    // Malformed and deeply nested JSON.
    CHECK(post(c, "/api/chat", "{\"model\":", 400).contains("error"));
    CHECK(post(c, "/api/generate", std::string(100000, '[') + std::string(100000, ']'), 400).at("error") ==
          "the request body nests deeper than 256 levels");
    CHECK(post(c, "/api/generate", "{\"model\":\"stories\",\"prompt\":\"x\",\"options\":" + std::string(50000, '[') + std::string(50000, ']') + "}", 400)
              .contains("error"));

    // Wrong types in the fields of each endpoint: 400, never 500.
    for (const char* body : {R"({"model":5})", R"({"model":"stories","prompt":5})", R"({"model":"stories","prompt":"x","stream":"yes"})",
                             R"({"model":"stories","prompt":"x","options":"fast"})", R"({"model":"stories","prompt":"x","options":{"num_predict":"x"}})",
                             R"({"model":"stories","prompt":"x","options":{"temperature":-1}})", R"({"model":"stories","prompt":"x","keep_alive":[]})",
                             R"({"model":"stories","prompt":"x","context":["a"]})", R"({"model":"stories","prompt":"x","images":["!!not base64"]})",
                             R"({"model":"stories","prompt":"x","format":7})", R"({"model":"stories","prompt":"x","think":{}})"}) {
        const std::string text = body;
        CAPTURE(text);
        const auto r = c.Post("/api/generate", body, "application/json");
        REQUIRE(r);
        CHECK(r->status == 400);
        CHECK(json::parse(r->body).contains("error"));
    }
    for (const char* body : {R"({"model":"stories","messages":{}})", R"({"model":"stories","messages":[1]})",
                             R"({"model":"stories","messages":[{"role":"user","content":7}]})",
                             R"({"model":"stories","messages":[{"role":"user","content":"x","images":["%%%"]}]})",
                             R"({"model":"stories","messages":[{"role":"user","content":"x"}],"tools":"all"})"}) {
        const std::string text = body;
        CAPTURE(text);
        const auto r = c.Post("/api/chat", body, "application/json");
        REQUIRE(r);
        CHECK(r->status == 400);
    }
    for (const char* body : {R"({"model":"stories","input":{}})", R"({"model":"stories","input":"x","truncate":"no"})"}) {
        const std::string text = body;
        CAPTURE(text);
        CHECK(c.Post("/api/embed", body, "application/json")->status == 400);
    }
    for (const char* body : {R"({"model":"stories","messages":"x"})", R"({"model":"stories","messages":[{"role":"user","content":"x"}],"max_tokens":"9"})",
                             R"({"model":["stories"],"messages":[]})"}) {
        const std::string text = body;
        CAPTURE(text);
        CHECK(c.Post("/v1/chat/completions", body, "application/json")->status == 400);
    }

    // Enormous numbers are bounded by the model, not trusted: at most ten context windows of answer.
    const json huge = post(c, "/api/generate",
                           R"({"model":"stories","prompt":"Once","stream":false,"options":{"num_predict":1000000000000,"top_k":2000000000,"num_ctx":1000000000000,"temperature":0}})",
                           200);
    CHECK(huge.at("eval_count").get<int64_t>() <= 10 * 128);
    CHECK(huge.at("done") == true);

    // The daemon still serves.
    CHECK(c.Get("/api/version")->status == 200);
}

TEST_CASE("serve: JSON bodies whatever their Content-Type, gzip bodies counted as inflated, a POST without a body") {
    Daemon daemon;
    httplib::Client c = daemon.client();
    const int port = daemon.port();
    const std::string host = "Host: 127.0.0.1:" + std::to_string(port) + "\r\nConnection: close\r\n";

    // curl -d sends application/x-www-form-urlencoded; past 8 KiB cpp-httplib alone answers 413.
    const std::string padded = json{{"model", "stories"}, {"padding", std::string(20000, 'x')}}.dump();
    const auto form = c.Post("/api/show", padded, "application/x-www-form-urlencoded");
    REQUIRE(form);
    CHECK(form->status == 200);
    CHECK(json::parse(form->body).contains("details"));

    // A gzip body is read as it inflates: a small one works, one that inflates past the limit is
    // refused without being held whole in memory.
    auto gzip = [](const std::string& text) {
        z_stream z{};
        REQUIRE(deflateInit2(&z, 9, Z_DEFLATED, 31, 9, Z_DEFAULT_STRATEGY) == Z_OK);  // 31: a gzip wrapper
        std::string out(deflateBound(&z, text.size()), '\0');
        z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
        z.avail_in = static_cast<uInt>(text.size());
        z.next_out = reinterpret_cast<Bytef*>(out.data());
        z.avail_out = static_cast<uInt>(out.size());
        REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
        out.resize(z.total_out);
        deflateEnd(&z);
        return out;
    };
    const std::string small = gzip(R"({"model":"stories"})");
    const std::string shown = raw_exchange(port, "POST /api/show HTTP/1.1\r\n" + host + "Content-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: " +
                                                     std::to_string(small.size()) + "\r\n\r\n" + small);
    CHECK(status_of(shown) == 200);
    const std::string bomb = gzip("{\"model\":\"stories\",\"prompt\":\"" + std::string(150u << 20, ' ') + "\"}");
    CHECK(bomb.size() < (1u << 20));
    const std::string refused = raw_exchange(port, "POST /api/generate HTTP/1.1\r\n" + host + "Content-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: " +
                                                       std::to_string(bomb.size()) + "\r\n\r\n" + bomb);
    CHECK(status_of(refused) == 413);
    CHECK(refused.find("request body too large") != std::string::npos);

    // No Content-Length and no body (curl -X POST): answered at once, not after the client gives up.
    const std::string bare = raw_exchange(port, "POST /api/chat HTTP/1.1\r\n" + host + "\r\n");
    CHECK(status_of(bare) == 400);
    CHECK(bare.find("missing request body") != std::string::npos);
    CHECK(c.Get("/api/version")->status == 200);
}

TEST_CASE("serve: blob uploads with a wrong digest, cut short or larger than the disk leave nothing behind") {
    Daemon daemon({}, /*with_stories=*/false);
    httplib::Client c = daemon.client();
    const std::string data = "some model bytes";
    const std::string digest = "sha256:" + rockllm::sha256_hex(data);
    const std::string wrong = "sha256:" + rockllm::sha256_hex("other bytes");
    const auto blobs = daemon.store() / "blobs";
    const auto count_files = [&] {
        size_t n = 0;
        if (std::filesystem::exists(blobs))
            for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(blobs)) ++n;
        return n;
    };
    const size_t before = count_files();

    const auto mismatch = c.Post(("/api/blobs/" + wrong).c_str(), data, "application/octet-stream");
    REQUIRE(mismatch);
    CHECK(mismatch->status == 400);
    CHECK(json::parse(mismatch->body).at("error").get<std::string>().find("digest mismatch") != std::string::npos);

    // Cut short: the connection closes after half of the announced bytes.
    const std::string host = "Host: 127.0.0.1:" + std::to_string(daemon.port()) + "\r\nConnection: close\r\n";
    raw_exchange(daemon.port(), "POST /api/blobs/" + digest + " HTTP/1.1\r\n" + host + "Content-Length: " + std::to_string(data.size()) +
                                    "\r\n\r\n" + data.substr(0, data.size() / 2));
    // Larger than any disk: refused before writing.
    const std::string announced = raw_exchange(daemon.port(), "POST /api/blobs/" + digest + " HTTP/1.1\r\n" + host +
                                                                  "Content-Length: 1000000000000000000\r\n\r\nxx");
    CHECK(status_of(announced) == 400);
    CHECK(announced.find("not enough disk space") != std::string::npos);
    // The same on a kept-alive connection whose unread body holds requests: they are part of the
    // announced body, which cpp-httplib discards after the answer, so none of them is served.
    const std::string keep_alive = "Host: 127.0.0.1:" + std::to_string(daemon.port()) + "\r\n";
    std::string smuggled;
    for (int i = 0; i < 3; ++i) smuggled += "GET /api/version HTTP/1.1\r\n" + keep_alive + "\r\n";
    const std::string refused = raw_exchange(daemon.port(), "POST /api/blobs/" + digest + " HTTP/1.1\r\n" + keep_alive +
                                                                "Content-Length: 1000000000000000000\r\n\r\n" + smuggled);
    CHECK(status_of(refused) == 400);
    CHECK(refused.find("HTTP/1.1", 1) == std::string::npos);  // one answer

    CHECK(c.Head(("/api/blobs/" + digest).c_str())->status == 404);
    CHECK(count_files() == before);  // no partial or temporary file is left

    // Digests that are paths are refused as digests, whether or not the file exists.
    for (const std::string& bad : std::vector<std::string>{"sha256:../../../../etc/passwd", "sha256-%2e%2e%2f%2e%2e", "/etc/passwd", "sha256:" + std::string(64, 'g')}) {
        CAPTURE(bad);
        const auto head = c.Head(("/api/blobs/" + bad).c_str());
        REQUIRE(head);
        CHECK(head->status == 400);
    }
    const auto fine = c.Post(("/api/blobs/" + digest).c_str(), data, "application/octet-stream");
    CHECK(fine->status == 201);
}

TEST_CASE("serve: an upload whose write fails mid-body is answered once and the rest of its body is dropped, not served") {
    // The daemon may write files of 64 KiB at most (as ulimit -f would): the upload's write fails
    // part-way, as on a full disk. The limit is the test process's while it forks the daemon.
    rlimit saved{};
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
    rlimit limited = saved;
    limited.rlim_cur = 64 * 1024;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &limited) == 0);
    std::unique_ptr<Daemon> started;
    try {
        started = std::make_unique<Daemon>(rockllm::test::Env{}, /*with_stories=*/false);
    } catch (...) {
        ::setrlimit(RLIMIT_FSIZE, &saved);
        throw;
    }
    ::setrlimit(RLIMIT_FSIZE, &saved);
    Daemon& daemon = *started;

    // A 1 MiB body made of requests; on a kept-alive connection, any of them served would answer.
    const std::string keep_alive = "Host: 127.0.0.1:" + std::to_string(daemon.port()) + "\r\n";
    std::string body;
    while (body.size() < (1u << 20)) body += "GET /api/version HTTP/1.1\r\n" + keep_alive + "\r\n";
    const std::string digest = "sha256:" + rockllm::sha256_hex(body);
    const std::string answer = raw_exchange(daemon.port(), "POST /api/blobs/" + digest + " HTTP/1.1\r\n" + keep_alive +
                                                               "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
    CHECK(status_of(answer) == 500);
    CHECK(answer.find("cannot write") != std::string::npos);
    CHECK(answer.find("HTTP/1.1", 1) == std::string::npos);  // one answer: none of the body's requests
    CHECK(answer.find("\"version\"") == std::string::npos);

    // Nothing of the upload is left, and the daemon still serves.
    httplib::Client c = daemon.client();
    CHECK(c.Head(("/api/blobs/" + digest).c_str())->status == 404);
    size_t files = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::recursive_directory_iterator(daemon.store() / "blobs")) ++files;
    CHECK(files == 0);
    CHECK(c.Get("/api/version")->status == 200);
}

namespace {

// A field of /proc/PID/status in MiB (VmRSS, VmHWM).
long status_mib(pid_t pid, const std::string& field) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);)
        if (line.rfind(field + ":", 0) == 0) return std::atol(line.c_str() + field.size() + 1) / 1024;
    return -1;
}

}  // namespace

TEST_CASE("serve: a 20 MB prompt costs a few times its size in memory, gives it back, and answers as its end alone") {
    Daemon daemon;
    httplib::Client c = daemon.client();
    auto answer = [&](const std::string& prompt) {
        return post(c, "/api/generate", json{{"model", "stories"}, {"prompt", prompt}, {"stream", false}, {"options", {{"temperature", 0}, {"num_predict", 12}}}}.dump(), 200);
    };
    answer("Once");  // the model loaded
    const long before = status_mib(daemon.pid(), "VmRSS");
    REQUIRE(before > 0);
    std::string prompt;
    for (int i = 0; prompt.size() < (20u << 20); ++i) prompt += "Once upon a time there was a girl named Lily number " + std::to_string(i) + ". ";
    const json whole = answer(prompt);
    const long peak = status_mib(daemon.pid(), "VmHWM"), after = status_mib(daemon.pid(), "VmRSS");
    CAPTURE(before);
    CAPTURE(peak);
    CAPTURE(after);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
    // (A sanitized daemon keeps freed memory in quarantine and shadows it: its RSS says nothing.)
    CHECK(peak - before < 10 * 20);  // tokenized whole, it took gigabytes
    CHECK(after - before < 2 * 20);  // and kept most of it
#endif
    // Only the first token and the end of an over-long prompt are run: its last 200 kB alone give
    // the same answer from the same number of prompt tokens.
    const json end_alone = answer(prompt.substr(prompt.size() - 200000));
    CHECK(whole.at("response") == end_alone.at("response"));
    CHECK(whole.at("prompt_eval_count") == end_alone.at("prompt_eval_count"));
}

namespace {

int connect_to(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

}  // namespace

TEST_CASE("serve: clients idling or trickling in their request head do not hold the server, and are cut off") {
    Daemon daemon;
    const int port = daemon.port();
    // 100 connections that send nothing, and nothing else happening: past the deadline (10 s)
    // each has its 408 and is closed.
    std::vector<int> idle;
    for (int i = 0; i < 100; ++i) {
        const int fd = connect_to(port);
        REQUIRE(fd >= 0);
        idle.push_back(fd);
    }
    std::this_thread::sleep_for(std::chrono::seconds(11));
    int timed_out = 0;
    for (const int fd : idle) {
        timeval timeout{2, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        std::string answer;
        char buf[512];
        for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) answer.append(buf, static_cast<size_t>(n));
        if (status_of(answer) == 408 && answer.find("did not arrive in time") != std::string::npos) ++timed_out;
        ::close(fd);
    }
    CHECK(timed_out == 100);

    // 200 connections (cpp-httplib alone served 64 at once) sending a head a byte a second: other
    // clients are still served, each at once.
    std::vector<int> slow;
    for (int i = 0; i < 200; ++i) {
        const int fd = connect_to(port);
        REQUIRE(fd >= 0);
        slow.push_back(fd);
    }
    std::atomic<bool> trickling{true};
    std::thread trickler;
    struct StopTrickling {  // also when a check below fails
        std::atomic<bool>& trickling;
        std::thread& thread;
        std::vector<int>& sockets;
        ~StopTrickling() {
            trickling = false;
            if (thread.joinable()) thread.join();
            for (const int fd : sockets) ::close(fd);
        }
    } stop_trickling{trickling, trickler, slow};
    trickler = std::thread([&] {
        const std::string head = "GET /api/version HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
        for (size_t at = 0; trickling && at < head.size(); ++at) {
            for (const int fd : slow) ::send(fd, &head[at], 1, MSG_NOSIGNAL);
            for (int t = 0; t < 10 && trickling; ++t) std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    });
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(3, 0);
    for (int i = 0; i < 5; ++i) {
        const auto r = c.Get("/api/version");
        CHECK((r && r->status == 200));
        std::this_thread::sleep_for(std::chrono::seconds(1));
    }
}

TEST_CASE("serve: a request head of too many lines or bytes is refused whole, and nothing of it is run") {
    Daemon daemon;
    const int port = daemon.port();
    const std::string host = "Host: 127.0.0.1:" + std::to_string(port) + "\r\n";
    const std::string body = R"({"model":"stories"})";
    // A delete of stories whose head has 150 header lines: refused, and stories stays.
    std::string many;
    for (int i = 0; i < 150; ++i) many += "X-Line-" + std::to_string(i) + ": y\r\n";
    const std::string refused = raw_exchange(port, "DELETE /api/delete HTTP/1.1\r\n" + host + many + "Content-Type: application/json\r\nContent-Length: " +
                                                       std::to_string(body.size()) + "\r\n\r\n" + body);
    CHECK(status_of(refused) == 431);
    CHECK(refused.find("more than 100 header lines") != std::string::npos);
    // 100 000 lines of 1 KB: refused once the head passes 32 KiB, without reading the rest.
    std::string huge;
    const std::string line = "X-Big: " + std::string(1000, 'z') + "\r\n";
    for (int i = 0; i < 40; ++i) huge += line;
    const std::string too_large = raw_exchange(port, "DELETE /api/delete HTTP/1.1\r\n" + host + huge);
    CHECK(status_of(too_large) == 431);
    CHECK(too_large.find("larger than 32 KiB") != std::string::npos);
    httplib::Client c = daemon.client();
    CHECK(c.Post("/api/show", body, "application/json")->status == 200);  // stories is still there
    // A head of 90 lines is fine.
    std::string fine;
    for (int i = 0; i < 90; ++i) fine += "X-Line-" + std::to_string(i) + ": y\r\n";
    CHECK(status_of(raw_exchange(port, "GET /api/version HTTP/1.1\r\n" + host + fine + "Connection: close\r\n\r\n")) == 200);
}

TEST_CASE("serve: path-like model names get the same answer whether or not the path exists") {
    Daemon daemon;
    httplib::Client c = daemon.client();
    // /etc/passwd exists and /etc/no-such-file does not; neither may be distinguishable.
    for (const char* route : {"/api/show", "/api/generate", "/api/chat", "/api/embed"}) {
        CAPTURE(route);
        const json a = post(c, route, R"({"model":"../../../../../../etc/passwd","prompt":"x","input":"x","messages":[{"role":"user","content":"x"}]})", 400);
        const json b = post(c, route, R"({"model":"../../../../../../etc/no-such-file","prompt":"x","input":"x","messages":[{"role":"user","content":"x"}]})", 400);
        CHECK(a == b);
        const json nul = post(c, route, std::string(R"({"model":"stories\u0000/../x","prompt":"x"})"), 400);
        CHECK(nul.contains("error"));
    }
    const json absolute = post(c, "/api/show", R"({"model":"/etc/passwd"})", 400);
    const json absolute_missing = post(c, "/api/show", R"({"model":"/etc/no-such-file"})", 400);
    CHECK(absolute == absolute_missing);
    const json long_name = post(c, "/api/show", json{{"model", std::string(5000, 'a')}}.dump(), 400);
    CHECK(long_name.contains("error"));
}

TEST_SUITE_END();

}  // namespace test_serve_hostile
