// The scheduler: loads models on demand, keeps them for their keep_alive, and admits requests.
//   - each loaded model has num_parallel slots (OLLAMA_NUM_PARALLEL); a request holds one slot;
//   - at most max_loaded_models stay loaded (OLLAMA_MAX_LOADED_MODELS); an idle one is unloaded to
//     make room, the least recently expiring first, and a request waits when none is idle;
//   - at most max_queue requests wait at once (OLLAMA_MAX_QUEUE); beyond that ServerBusy (503);
//     requests for one model get its slots in the order they came;
//   - a model that does not fit into memory, even with every idle model unloaded, is refused.
// One load happens at a time, outside the lock, so requests for loaded models are never held up.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "api/keep_alive.h"
#include "api/loaded_model.h"

namespace rockllm {

// The client of a request that waited for a slot hung up: the request leaves the queue.
class ClientGone : public std::runtime_error {
public:
    ClientGone() : std::runtime_error("the client went away while waiting for a slot") {}
};

class ServerBusy : public std::runtime_error {
public:
    ServerBusy() : std::runtime_error("server busy, please try again.  maximum pending requests exceeded") {}
    explicit ServerBusy(const std::string& message) : std::runtime_error(message) {}
};

struct SchedulerOptions {
    int64_t num_ctx = 4096;
    int num_parallel = 1;
    int max_loaded_models = 3;
    int max_queue = 512;
    KeepAlive default_keep_alive{std::chrono::minutes(5), false};
    int64_t max_memory = INT64_MAX;  // all loaded models together (ROCKLLM_MAX_MEMORY)
    // Free memory now, in bytes; by default MemAvailable of /proc/meminfo.
    std::function<int64_t()> available_memory;
    // The NPU's cores when the engine uses them (null: every model runs on the CPU).
    npu::NpuCores* npu = nullptr;
    npu::MatmulType npu_type = npu::MatmulType::Int8;
};

class Scheduler {
    struct Entry;

public:
    // One slot of a loaded model, held for the length of one request.
    class Lease {
    public:
        ~Lease();
        LoadedModel& model() { return *model_; }
        int slot() const { return slot_; }
        // The time from the request to its slot, a load included (Ollama's load_duration; never 0).
        int64_t load_duration_ns() const { return load_duration_ns_; }
        // Generation should end now: the server is stopping.
        bool shutting_down() const { return scheduler_.shutting_down(); }
        // Moves the lease to the free slot of its model whose prompt cache suits the request best
        // (score(slot), higher is better), or stays where it is.
        void move_to_best_slot(const std::function<int64_t(int slot)>& score) { slot_ = scheduler_.best_slot(model_.get(), slot_, score); }

    private:
        friend class Scheduler;
        Lease(Scheduler& scheduler, std::shared_ptr<LoadedModel> model, int slot, std::optional<KeepAlive> keep_alive)
            : scheduler_(scheduler), model_(std::move(model)), slot_(slot), keep_alive_(keep_alive) {}
        Scheduler& scheduler_;
        std::shared_ptr<LoadedModel> model_;
        int slot_;
        std::optional<KeepAlive> keep_alive_;
        int64_t load_duration_ns_ = 0;
    };

    struct Running {
        std::shared_ptr<const LoadedModel> model;  // kept alive for the caller (stats)
        StoredModel stored;
        int64_t size_bytes = 0;
        int64_t context_length = 0;
        std::chrono::system_clock::time_point expires_at;
        bool forever = false;
    };

    Scheduler(ModelStore store, SchedulerOptions options);
    ~Scheduler();

    // Waits for a slot of the model, loading it first when needed. keep_alive (the request's, or
    // the default) starts when the lease ends. client_gone, when given, is asked while waiting:
    // a request whose client hung up leaves the queue (ClientGone). Throws ServerBusy,
    // InsufficientMemory, or what loading throws.
    std::unique_ptr<Lease> acquire(const StoredModel& stored, std::optional<KeepAlive> keep_alive,
                                   const std::function<bool()>& client_gone = {});
    // Unloads the model now, or as soon as its running requests end.
    void unload(const ModelName& name);
    // Loaded models, the one expiring last first (as /api/ps lists them).
    std::vector<Running> running() const;
    const SchedulerOptions& options() const { return options_; }
    int pending() const;
    // Whether the scheduler's lock can be taken within the time: a stuck scheduler is not.
    bool responsive(std::chrono::milliseconds within) const;
    // Refuses new requests and tells running ones to finish (SIGTERM).
    void begin_shutdown();
    bool shutting_down() const { return shutting_down_; }

private:
    struct Entry {
        std::shared_ptr<LoadedModel> model;
        std::vector<bool> busy;
        int active = 0;
        KeepAlive keep_alive;
        std::chrono::steady_clock::time_point expires;
        bool unload_requested = false;
    };
    using Key = std::string;  // display name and manifest digest: a re-created model is a new entry

    void release(LoadedModel* model, int slot, std::optional<KeepAlive> keep_alive);
    int best_slot(LoadedModel* model, int current, const std::function<int64_t(int)>& score);
    bool evict_one_idle(std::vector<std::shared_ptr<LoadedModel>>& unloaded);
    void expire_loop();

    ModelStore store_;
    SchedulerOptions options_;
    // One thread pool for the process: models loaded side by side take turns on the cores rather
    // than each spinning a pool of its own over them.
    std::shared_ptr<ThreadPool> pool_ = std::make_shared<ThreadPool>(default_thread_count());
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::map<Key, Entry> loaded_;
    bool loading_ = false;
    int pending_ = 0;
    uint64_t next_ticket_ = 0;
    std::deque<std::pair<uint64_t, Key>> waiting_;  // requests waiting for a slot, in arrival order
    bool stopping_ = false;
    std::atomic<bool> shutting_down_{false};
    std::thread expiry_thread_;
};

// MemAvailable from /proc/meminfo (INT64_MAX when it cannot be read).
int64_t system_available_memory();

}  // namespace rockllm
