#include "thread_pool.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace rockllm {

namespace {

inline void cpu_relax() {
#if defined(__x86_64__)
    _mm_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

constexpr auto kSpinTime = std::chrono::microseconds(200);

}  // namespace

ThreadPool::ThreadPool(int n_threads) {
    for (int i = 1; i < std::max(1, n_threads); ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        generation_.fetch_add(1);
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
}

void ThreadPool::run(const std::function<void(int, int)>& fn) {
    if (workers_.empty()) {
        fn(0, 1);
        return;
    }
    std::lock_guard turn(turn_);
    {
        std::lock_guard lock(mutex_);
        task_ = &fn;
        pending_.store(static_cast<int>(workers_.size()));
        generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    fn(0, size());
    while (pending_.load(std::memory_order_acquire) != 0) cpu_relax();
}

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
    if (n <= 0) return;
    run([&](int i, int count) {
        const int64_t begin = n * i / count, end = n * (i + 1) / count;
        if (begin < end) fn(begin, end);
    });
}

void ThreadPool::worker_loop(int index) {
    uint64_t seen = 0;
    while (true) {
        // Spin for a moment, then sleep until the next task.
        const auto spin_until = std::chrono::steady_clock::now() + kSpinTime;
        while (generation_.load(std::memory_order_acquire) == seen && std::chrono::steady_clock::now() < spin_until)
            for (int i = 0; i < 64; ++i) cpu_relax();
        if (generation_.load(std::memory_order_acquire) == seen) {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return generation_.load() != seen; });
        }
        seen = generation_.load(std::memory_order_acquire);
        if (stopping_) return;
        (*task_)(index, size());
        pending_.fetch_sub(1, std::memory_order_acq_rel);
    }
}

int default_thread_count() {
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
#if defined(__aarch64__)
    // On big.LITTLE SoCs (RK3588: 4x A76 + 4x A55) use the fastest cores only.
    std::vector<long> max_freq;
    for (int c = 0; c < cores; ++c) {
        std::ifstream f("/sys/devices/system/cpu/cpu" + std::to_string(c) + "/cpufreq/cpuinfo_max_freq");
        long khz = 0;
        if (f >> khz) max_freq.push_back(khz);
    }
    if (static_cast<int>(max_freq.size()) == cores) {
        const long top = *std::max_element(max_freq.begin(), max_freq.end());
        const long big = std::count_if(max_freq.begin(), max_freq.end(), [&](long k) { return k >= top * 9 / 10; });
        if (big > 0) return static_cast<int>(big);
    }
#endif
    return cores;
}

}  // namespace rockllm
