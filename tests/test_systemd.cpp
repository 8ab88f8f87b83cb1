// The service files and the daemon's side of the systemd protocol: the unit passes
// `systemd-analyze verify` without a warning, sysusers/tmpfiles create what the unit needs in a
// scratch root, and a daemon started with NOTIFY_SOCKET sends READY=1, watchdog pings and STOPPING=1.
#include <doctest/doctest.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "serve_fixture.h"

namespace test_systemd {

namespace fs = std::filesystem;

namespace {

struct Run {
    int status;
    std::string output;
};

Run shell(const std::string& command, const rockllm::test::ScratchDir& dir) {
    const int status = std::system((command + " >" + dir.file("shell.out") + " 2>&1").c_str());
    return {WEXITSTATUS(status), rockllm::test::read_text(dir.file("shell.out"))};
}

const std::string kSource = ROCKLLM_SOURCE_DIR;

// A datagram socket standing in for systemd's notification socket.
class NotifySocket {
public:
    explicit NotifySocket(const std::string& path) : path_(path) {
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path.c_str());
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
        timeval timeout{10, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    }
    ~NotifySocket() {
        ::close(fd_);
        ::unlink(path_.c_str());
    }
    // The next datagram, "" after 10 s without one.
    std::string receive() {
        char buffer[4096];
        const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
        return n > 0 ? std::string(buffer, static_cast<size_t>(n)) : "";
    }

private:
    std::string path_;
    int fd_ = -1;
};

}  // namespace

TEST_SUITE_BEGIN("unit");

TEST_CASE("systemd: the unit verifies cleanly, and the check would catch a mistake") {
    rockllm::test::ScratchDir dir;
    // verify checks that ExecStart exists: point it at the binary under test.
    std::string unit = rockllm::test::read_text(kSource + "/systemd/rockllm.service");
    unit = std::regex_replace(unit, std::regex("/usr/bin/rockllm"), ROCKLLM_BINARY);
    std::ofstream(dir.file("rockllm.service")) << unit;
    const Run good = shell("systemd-analyze verify --man=no " + dir.file("rockllm.service"), dir);
    CHECK(good.status == 0);
    CHECK_MESSAGE(good.output.empty(), good.output);

    std::ofstream(dir.file("broken.service")) << unit << "\nNoSuchSetting=yes\n";
    const Run broken = shell("systemd-analyze verify --man=no " + dir.file("broken.service"), dir);
    CHECK(broken.output.find("NoSuchSetting") != std::string::npos);
}

TEST_CASE("systemd: sysusers creates the rockllm user in the render group, tmpfiles creates the store") {
    rockllm::test::ScratchDir dir;
    const fs::path root = dir.path() / "root";
    fs::create_directories(root / "etc");
    Run r = shell("systemd-sysusers --root=" + root.string() + " " + kSource + "/systemd/rockllm.sysusers", dir);
    REQUIRE_MESSAGE(r.status == 0, r.output);
    const std::string passwd = rockllm::test::read_text((root / "etc/passwd").string());
    const std::string group = rockllm::test::read_text((root / "etc/group").string());
    CHECK(passwd.find("rockllm:x:") != std::string::npos);
    CHECK(passwd.find(":/var/lib/rockllm:/usr/sbin/nologin") != std::string::npos);
    CHECK(std::regex_search(group, std::regex("(^|\n)render:x:[0-9]+:rockllm\n")));
    r = shell("systemd-tmpfiles --root=" + root.string() + " --create " + kSource + "/systemd/rockllm.tmpfiles", dir);
    CHECK_MESSAGE(r.status == 0, r.output);
    CHECK(fs::is_directory(root / "var/lib/rockllm/models"));
}

TEST_CASE("systemd: the daemon notifies READY=1, pings the watchdog and says STOPPING=1") {
    rockllm::test::ScratchDir dir;
    NotifySocket notify(dir.file("notify.sock"));
    rockllm::test::Daemon daemon(rockllm::test::Env{{"NOTIFY_SOCKET", dir.file("notify.sock")}, {"WATCHDOG_USEC", "200000"}});
    const std::string ready = notify.receive();
    CHECK(ready.find("READY=1") != std::string::npos);
    CHECK(ready.find("STATUS=listening on 127.0.0.1:" + std::to_string(daemon.port())) != std::string::npos);
    int pings = 0;
    std::string last_status;
    while (pings < 3) {
        const std::string message = notify.receive();
        REQUIRE_MESSAGE(!message.empty(), "no watchdog ping within 10 s");
        if (message.find("WATCHDOG=1") != std::string::npos) {
            ++pings;
            last_status = message;
        }
    }
    CHECK(last_status.find("no model loaded") != std::string::npos);
    // A loaded model shows in the status line.
    httplib::Client c = daemon.client();
    rockllm::test::post(c, "/api/generate", R"({"model":"stories"})", 200);
    bool listed = false;
    for (int i = 0; i < 20 && !listed; ++i) listed = notify.receive().find("loaded: stories:latest") != std::string::npos;
    CHECK(listed);
    CHECK(daemon.stop() == 0);
    bool stopping = false;
    for (int i = 0; i < 20 && !stopping; ++i) {
        const std::string message = notify.receive();
        if (message.empty()) break;
        stopping = message.find("STOPPING=1") != std::string::npos;
    }
    CHECK(stopping);
}

TEST_SUITE_END();

}  // namespace test_systemd
