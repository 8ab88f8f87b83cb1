// What cpp-httplib 0.11 (Debian 12's) does not bound: it gives every new connection a thread at
// once and reads the request head with a 5 s timeout per read, with no limit on the whole time or
// on the number of header lines. 64 clients trickling a byte every 4 s held all 64 threads; one
// sending 100 000 header lines made the server keep 200 MB.
//
// The gate is the server's task queue (httplib::Server::new_task_queue), so it sees every
// accepted connection before cpp-httplib reads from it. It holds the connection, threadless, in
// one epoll thread until the request head has arrived whole — peeked, not read, so cpp-httplib
// then reads it as usual — and only then gives it a worker thread. A head not complete within the
// deadline gets 408, one longer than kMaxHeadBytes or of more than kMaxHeadLines lines 431, and
// the connection is shut down (cpp-httplib then finds it closed and lets it go). The server serves
// one request per connection (keep-alive off), so every request passes the gate.
//
// cpp-httplib hands a task queue only a function, not the socket: the gate finds the socket
// among the process's open files as the one connected to the listening port that it has not seen
// yet (sockets are told apart by inode, never reused while open). Should that find none or
// several, the connection goes straight to a worker, as without the gate.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <httplib.h>

namespace rockllm {

class ConnectionGate : public httplib::TaskQueue {
public:
    static constexpr size_t kMaxHeadBytes = 32 * 1024;
    static constexpr int kMaxHeadLines = 100;

    // port: the server's listening port; workers: most connections served at once.
    ConnectionGate(int port, size_t max_workers, std::chrono::milliseconds head_deadline);
    ~ConnectionGate() override;

    void enqueue(std::function<void()> fn) override;
    void shutdown() override;

private:
    struct Waiting {
        std::function<void()> serve;
        std::chrono::steady_clock::time_point deadline;
    };
    void watch();                    // the epoll thread
    void wake_watcher();             // to look at the deadlines again, or to stop
    void look_at_head(int fd);       // fd has new bytes: complete, too large, or not yet
    void expire_heads();             // refuses the heads past their deadline
    // Answers status, then replaces the connection by a closed one, so that cpp-httplib reads
    // nothing more from the client; the caller holds mutex_.
    void refuse(int fd, const char* status, const char* reason);
    void release(int fd);            // stops watching fd and hands it to a worker; holds mutex_
    void dispatch(std::function<void()> serve);  // holds mutex_
    void work();                     // a worker thread
    // The one socket connected to the listening port that the gate has not seen, or -1; holds mutex_.
    int find_new_connection();

    const int port_;
    const size_t max_workers_;
    const std::chrono::milliseconds head_deadline_;
    int epoll_ = -1, wake_ = -1;  // wake_: an eventfd that ends watch()

    mutable std::mutex mutex_;
    std::set<unsigned long> known_;     // socket inodes of connections seen (pruned to those still open)
    std::map<int, Waiting> waiting_;    // by fd: connections whose head has not arrived
    std::deque<std::function<void()>> ready_;  // heads complete (or refused), for the workers
    std::condition_variable work_;
    size_t workers_ = 0, idle_workers_ = 0;
    bool stopping_ = false;
    std::vector<std::thread> threads_;  // the workers
    std::thread watcher_;
};

}  // namespace rockllm
