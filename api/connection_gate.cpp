#include "api/connection_gate.h"

#include "api/open_files.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

namespace rockllm {

namespace {

// The port a socket address names, or -1 for another family.
int port_of(const sockaddr_storage& a) {
    if (a.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(a).sin_port);
    if (a.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(a).sin6_port);
    return -1;
}

bool is_connection_to_port(int fd, int port) {
    sockaddr_storage local{}, peer{};
    socklen_t local_length = sizeof local, peer_length = sizeof peer;
    return getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_length) == 0 && port_of(local) == port &&
           getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_length) == 0;
}

// The inode of the socket an open file is ("socket:[12345]" in /proc/self/fd), 0 for another file.
// Read from the link rather than by fstat on the descriptor, which a worker may be closing.
unsigned long socket_inode(int fd) {
    char link[64];
    const std::string path = "/proc/self/fd/" + std::to_string(fd);
    const ssize_t n = readlink(path.c_str(), link, sizeof link - 1);
    if (n <= 8) return 0;
    link[n] = '\0';
    if (std::strncmp(link, "socket:[", 8) != 0) return 0;
    return std::strtoul(link + 8, nullptr, 10);
}

}  // namespace

ConnectionGate::ConnectionGate(int port, size_t max_workers, std::chrono::milliseconds head_deadline)
    : port_(port), max_workers_(max_workers), head_deadline_(head_deadline) {
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    wake_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = wake_;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, wake_, &event);
    watcher_ = std::thread([this] { watch(); });
}

ConnectionGate::~ConnectionGate() {
    shutdown();
    close(wake_);
    close(epoll_);
}

int ConnectionGate::find_new_connection() {
    std::set<unsigned long> open_sockets;
    int found = -1, candidates = 0;
    for_each_open_fd([&](int fd) {
        const unsigned long inode = socket_inode(fd);
        if (inode == 0) return true;
        open_sockets.insert(inode);
        if (known_.count(inode) || !is_connection_to_port(fd, port_)) return true;
        ++candidates;
        found = fd;
        known_.insert(inode);  // seen now, whether or not it is the one
        return true;
    });
    std::erase_if(known_, [&](unsigned long i) { return !open_sockets.count(i); });  // closed: their inodes may come again
    return candidates == 1 ? found : -1;
}

void ConnectionGate::enqueue(std::function<void()> fn) {
    std::lock_guard lock(mutex_);
    const int fd = find_new_connection();
    if (fd < 0 || stopping_) {
        dispatch(std::move(fn));
        return;
    }
    waiting_[fd] = Waiting{std::move(fn), std::chrono::steady_clock::now() + head_deadline_};
    epoll_event event{};
    event.events = EPOLLIN | EPOLLRDHUP | EPOLLET;  // edge-triggered: peeked bytes stay readable
    event.data.fd = fd;
    if (epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &event) != 0) return release(fd);
    wake_watcher();  // its wait may have no deadline yet, or a later one
}

void ConnectionGate::wake_watcher() {
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t written = write(wake_, &one, sizeof one);
}

void ConnectionGate::watch() {
    epoll_event events[64];
    for (;;) {
        int timeout_ms = -1;
        {
            std::lock_guard lock(mutex_);
            if (stopping_) return;
            const auto now = std::chrono::steady_clock::now();
            for (const auto& [fd, w] : waiting_) {
                const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(w.deadline - now).count() + 1;
                timeout_ms = timeout_ms < 0 ? static_cast<int>(std::max<long long>(0, left)) : std::min(timeout_ms, static_cast<int>(std::max<long long>(0, left)));
            }
        }
        const int n = epoll_wait(epoll_, events, 64, timeout_ms);
        std::lock_guard lock(mutex_);
        if (stopping_) return;
        for (int i = 0; i < n; ++i) {
            if (events[i].data.fd == wake_) {
                uint64_t count;
                [[maybe_unused]] const ssize_t got = read(wake_, &count, sizeof count);
            } else if (waiting_.count(events[i].data.fd)) {
                look_at_head(events[i].data.fd);
            }
        }
        expire_heads();
    }
}

void ConnectionGate::look_at_head(int fd) {
    static thread_local char buffer[kMaxHeadBytes];
    const ssize_t n = recv(fd, buffer, sizeof buffer, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    if (n <= 0) {  // closed or reset: cpp-httplib finds that out and lets the connection go
        release(fd);
        return;
    }
    const std::string_view head(buffer, static_cast<size_t>(n));
    const size_t end = head.find("\r\n\r\n");
    size_t lines = 0;
    for (size_t at = head.find("\r\n"); at != std::string_view::npos && at < std::min(end, head.size()); at = head.find("\r\n", at + 2)) ++lines;
    if (lines > kMaxHeadLines) return refuse(fd, "431 Request Header Fields Too Large", "the request has more than 100 header lines");
    if (end != std::string_view::npos) return release(fd);
    if (head.size() == sizeof buffer) return refuse(fd, "431 Request Header Fields Too Large", "the request head is larger than 32 KiB");
}

void ConnectionGate::expire_heads() {
    const auto now = std::chrono::steady_clock::now();
    std::vector<int> late;
    for (const auto& [fd, w] : waiting_)
        if (w.deadline <= now) late.push_back(fd);
    for (int fd : late) refuse(fd, "408 Request Timeout", "the request head did not arrive in time");
}

void ConnectionGate::refuse(int fd, const char* status, const char* reason) {
    const std::string body = std::string("{\"error\":\"") + reason + "\"}";
    const std::string answer = std::string("HTTP/1.1 ") + status + "\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: " +
                               std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    send(fd, answer.data(), answer.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    epoll_ctl(epoll_, EPOLL_CTL_DEL, fd, nullptr);
    // What the client sent is read away (so closing sends a FIN, not a reset that could lose the
    // answer), then the connection is replaced by one whose peer is gone: cpp-httplib reads an
    // end of file at once and closes it, and never sees a byte of this client's.
    char sink[4096];
    for (int i = 0; i < 256 && recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0; ++i) {
    }
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0) {
        dup2(pair[0], fd);
        close(pair[0]);
        close(pair[1]);
    } else {
        ::shutdown(fd, SHUT_RDWR);
    }
    release(fd);
}

void ConnectionGate::release(int fd) {
    const auto it = waiting_.find(fd);
    if (it == waiting_.end()) return;
    epoll_ctl(epoll_, EPOLL_CTL_DEL, fd, nullptr);
    Waiting w = std::move(it->second);
    waiting_.erase(it);
    dispatch(std::move(w.serve));
}

void ConnectionGate::dispatch(std::function<void()> serve) {
    ready_.push_back(std::move(serve));
    if (idle_workers_ == 0 && workers_ < max_workers_ && !stopping_) {
        ++workers_;
        threads_.emplace_back([this] { work(); });
    }
    work_.notify_one();
}

void ConnectionGate::work() {
    std::unique_lock lock(mutex_);
    for (;;) {
        ++idle_workers_;
        work_.wait(lock, [this] { return !ready_.empty() || stopping_; });
        --idle_workers_;
        if (ready_.empty()) return;  // stopping, nothing left
        std::function<void()> serve = std::move(ready_.front());
        ready_.pop_front();
        lock.unlock();
        serve();
        lock.lock();
    }
}

void ConnectionGate::shutdown() {
    {
        std::lock_guard lock(mutex_);
        if (stopping_) return;
        // Heads still on their way: those connections get a 503 and are closed.
        std::vector<int> waiting;
        for (const auto& [fd, w] : waiting_) waiting.push_back(fd);
        for (int fd : waiting) refuse(fd, "503 Service Unavailable", "the server is shutting down");
        stopping_ = true;
    }
    wake_watcher();
    work_.notify_all();
    if (watcher_.joinable()) watcher_.join();
    for (std::thread& t : threads_) t.join();
    threads_.clear();
}

}  // namespace rockllm
