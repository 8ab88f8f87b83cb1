// A fixed set of worker threads that run one function on every thread and wait for all of them.
// Decoding calls it a few hundred times per token, so idle workers spin briefly before sleeping:
// a wake-up through the kernel costs more than a whole small matmul.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace rockllm {

class ThreadPool {
public:
    // n_threads counts the calling thread, which does a share of the work too.
    explicit ThreadPool(int n_threads);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int size() const { return static_cast<int>(workers_.size()) + 1; }

    // Calls fn(i, size()) for i in [0, size()) concurrently; returns when all calls have returned.
    // Callers in several threads (engines sharing the process's pool) take turns.
    void run(const std::function<void(int, int)>& fn);

    // Splits [0, n) into size() contiguous ranges and calls fn(begin, end) for each non-empty one.
    void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn);

private:
    void worker_loop(int index);

    std::vector<std::thread> workers_;
    const std::function<void(int, int)>* task_ = nullptr;
    std::atomic<uint64_t> generation_{0};
    std::atomic<int> pending_{0};
    std::atomic<bool> stopping_{false};
    std::mutex mutex_;
    std::condition_variable wake_;
    std::mutex turn_;  // held by the caller whose task runs
};

// Threads to use by default: the machine's cores (big cores only, on big.LITTLE boards).
int default_thread_count();

}  // namespace rockllm
