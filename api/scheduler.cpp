#include "api/scheduler.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "base/elapsed.h"

namespace rockllm {

namespace {

using SteadyClock = std::chrono::steady_clock;

std::string key_of(const StoredModel& m) { return m.name.display() + "@" + m.manifest.digest; }

void log_unload(const LoadedModel& model, const char* why) {
    std::fprintf(stderr, "rockllm: unloaded %s (%s)\n", model.stored().name.display().c_str(), why);
}

}  // namespace

int64_t system_available_memory() {
    std::ifstream meminfo("/proc/meminfo");
    std::string line;
    while (std::getline(meminfo, line)) {
        if (line.rfind("MemAvailable:", 0) != 0) continue;
        std::istringstream fields(line.substr(13));
        int64_t kib = 0;
        if (fields >> kib) return kib * 1024;
    }
    return INT64_MAX;
}

Scheduler::Lease::~Lease() { scheduler_.release(model_.get(), slot_, keep_alive_); }

Scheduler::Scheduler(ModelStore store, SchedulerOptions options) : store_(std::move(store)), options_(std::move(options)) {
    if (!options_.available_memory) options_.available_memory = system_available_memory;
    options_.num_parallel = std::max(1, options_.num_parallel);
    options_.max_loaded_models = std::max(1, options_.max_loaded_models);
    expiry_thread_ = std::thread([this] { expire_loop(); });
}

Scheduler::~Scheduler() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    changed_.notify_all();
    expiry_thread_.join();
}

void Scheduler::begin_shutdown() {
    shutting_down_ = true;
    changed_.notify_all();
}

bool Scheduler::responsive(std::chrono::milliseconds within) const {
    const auto deadline = SteadyClock::now() + within;
    do {
        if (mutex_.try_lock()) {
            mutex_.unlock();
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    } while (SteadyClock::now() < deadline);
    return false;
}

int Scheduler::pending() const {
    std::lock_guard lock(mutex_);
    return pending_;
}

bool Scheduler::evict_one_idle(std::vector<std::shared_ptr<LoadedModel>>& unloaded) {
    auto victim = loaded_.end();
    for (auto it = loaded_.begin(); it != loaded_.end(); ++it)
        if (it->second.active == 0 && (victim == loaded_.end() || it->second.expires < victim->second.expires)) victim = it;
    if (victim == loaded_.end()) return false;
    log_unload(*victim->second.model, "to make room for another model");
    unloaded.push_back(std::move(victim->second.model));  // freed by the caller, outside the lock
    loaded_.erase(victim);
    return true;
}

std::unique_ptr<Scheduler::Lease> Scheduler::acquire(const StoredModel& stored, std::optional<KeepAlive> keep_alive,
                                                     const std::function<bool()>& client_gone) {
    const auto start = SteadyClock::now();
    std::vector<std::shared_ptr<LoadedModel>> unloaded;  // destroyed after the lock is released
    std::unique_lock lock(mutex_);
    if (pending_ >= options_.max_queue) throw ServerBusy();
    ++pending_;
    const Key key = key_of(stored);
    // Requests for a model are served in the order they came: a waiter goes ahead only when no
    // earlier one for the same model is still waiting.
    const uint64_t ticket = next_ticket_++;
    waiting_.emplace_back(ticket, key);
    struct PendingGuard {
        Scheduler& scheduler;
        uint64_t ticket;
        ~PendingGuard() {
            --scheduler.pending_;
            std::erase_if(scheduler.waiting_, [this](const auto& w) { return w.first == ticket; });
            scheduler.changed_.notify_all();  // the next in line may go ahead
        }
    } guard{*this, ticket};
    // Waiting looks at the client now and then: one that hung up leaves the queue.
    const auto wait = [&] {
        if (!client_gone) return changed_.wait(lock);
        changed_.wait_for(lock, std::chrono::milliseconds(250));
        if (client_gone()) throw ClientGone();
    };
    const auto my_turn = [&] {
        const auto first = std::find_if(waiting_.begin(), waiting_.end(), [&](const auto& w) { return w.second == key; });
        return first != waiting_.end() && first->first == ticket;
    };

    for (;;) {
        if (stopping_ || shutting_down_) throw ServerBusy("the server is shutting down");
        if (!my_turn()) {
            wait();
            continue;
        }
        // A model re-created under the same name replaces the old version once that is idle.
        for (auto it = loaded_.begin(); it != loaded_.end();) {
            const bool old_version = it->first != key && it->second.model->stored().name.same_as(stored.name);
            if (old_version && it->second.active == 0) {
                log_unload(*it->second.model, "replaced by a new version");
                unloaded.push_back(std::move(it->second.model));
                it = loaded_.erase(it);
            } else {
                ++it;
            }
        }
        auto found = loaded_.find(key);
        if (found != loaded_.end() && !found->second.unload_requested) {
            Entry& e = found->second;
            const auto free_slot = std::find(e.busy.begin(), e.busy.end(), false);
            if (free_slot != e.busy.end()) {
                *free_slot = true;
                ++e.active;
                const int slot = static_cast<int>(free_slot - e.busy.begin());
                std::unique_ptr<Lease> lease(new Lease(*this, e.model, slot, keep_alive));
                // As Ollama measures it: from the request to a ready slot, the load included.
                lease->load_duration_ns_ = std::max<int64_t>(1, ns_since(start));
                return lease;
            }
        } else if (found == loaded_.end() && !loading_) {
            if (static_cast<int>(loaded_.size()) >= options_.max_loaded_models && !evict_one_idle(unloaded)) {
                wait();  // every loaded model is busy: wait for one to finish
                continue;
            }
            loading_ = true;
            int64_t in_use = 0;
            for (const auto& [k, e] : loaded_) in_use += e.model->size_bytes();
            bool can_evict = std::any_of(loaded_.begin(), loaded_.end(), [](const auto& kv) { return kv.second.active == 0; });
            lock.unlock();
            unloaded.clear();
            std::shared_ptr<LoadedModel> model;
            std::exception_ptr failure;
            for (int attempt = 0; attempt < 2 && !model; ++attempt) {
                LoadOptions load;
                load.num_ctx = options_.num_ctx;
                load.num_parallel = options_.num_parallel;
                load.available_bytes = std::min(options_.available_memory(), options_.max_memory - in_use);
                load.npu = options_.npu;
                load.npu_type = options_.npu_type;
                load.pool = pool_;
                load.log = [](const std::string& line) { std::fprintf(stderr, "rockllm: %s\n", line.c_str()); };
                try {
                    model = LoadedModel::load(store_, stored, load);
                } catch (const InsufficientMemory&) {
                    failure = std::current_exception();
                    if (!can_evict) break;
                    // Make room: unload every idle model, then try once more.
                    lock.lock();
                    while (evict_one_idle(unloaded)) {}
                    in_use = 0;
                    for (const auto& [k, e] : loaded_) in_use += e.model->size_bytes();
                    can_evict = false;
                    lock.unlock();
                    unloaded.clear();
                } catch (...) {
                    failure = std::current_exception();
                    break;
                }
            }
            lock.lock();
            loading_ = false;
            changed_.notify_all();
            if (!model) std::rethrow_exception(failure);
            const int64_t load_ns = model->load_duration_ns();
            std::fprintf(stderr, "rockllm: loaded %s in %.0f ms (%.1f MB with %d slot(s) of %lld tokens)\n",
                         stored.name.display().c_str(), static_cast<double>(load_ns) / 1e6,
                         static_cast<double>(model->size_bytes()) / 1e6, model->num_slots(), static_cast<long long>(model->num_ctx()));
            Entry e;
            e.busy.assign(static_cast<size_t>(model->num_slots()), false);
            e.model = std::move(model);
            e.keep_alive = keep_alive.value_or(options_.default_keep_alive);
            e.expires = SteadyClock::time_point::max();
            loaded_.emplace(key, std::move(e));
            continue;  // take a slot of it
        }
        wait();  // all slots busy, or another load in progress
    }
}

int Scheduler::best_slot(LoadedModel* model, int current, const std::function<int64_t(int)>& score) {
    std::lock_guard lock(mutex_);
    for (auto& [key, e] : loaded_) {
        if (e.model.get() != model) continue;
        int best = current;
        int64_t best_score = score(current);
        for (size_t i = 0; i < e.busy.size(); ++i) {
            if (e.busy[i]) continue;
            // A free slot is touched by no request while the lock is held: its cache can be read.
            const int64_t n = score(static_cast<int>(i));
            if (n > best_score) {
                best = static_cast<int>(i);
                best_score = n;
            }
        }
        if (best != current) {
            e.busy[static_cast<size_t>(current)] = false;
            e.busy[static_cast<size_t>(best)] = true;
        }
        return best;
    }
    return current;
}

void Scheduler::release(LoadedModel* model, int slot, std::optional<KeepAlive> keep_alive) {
    std::shared_ptr<LoadedModel> unloaded;
    {
        std::lock_guard lock(mutex_);
        for (auto it = loaded_.begin(); it != loaded_.end(); ++it) {
            Entry& e = it->second;
            if (e.model.get() != model) continue;
            e.busy[static_cast<size_t>(slot)] = false;
            --e.active;
            e.keep_alive = keep_alive.value_or(options_.default_keep_alive);
            e.expires = e.keep_alive.forever ? SteadyClock::time_point::max() : SteadyClock::now() + e.keep_alive.duration;
            if (e.active == 0 && (e.unload_requested || e.keep_alive.is_zero())) {
                log_unload(*e.model, e.unload_requested ? "on request" : "keep_alive 0");
                unloaded = std::move(e.model);
                loaded_.erase(it);
            }
            break;
        }
    }
    changed_.notify_all();
}

void Scheduler::unload(const ModelName& name) {
    std::vector<std::shared_ptr<LoadedModel>> unloaded;
    {
        std::lock_guard lock(mutex_);
        for (auto it = loaded_.begin(); it != loaded_.end();) {
            if (!it->second.model->stored().name.same_as(name)) {
                ++it;
            } else if (it->second.active == 0) {
                log_unload(*it->second.model, "on request");
                unloaded.push_back(std::move(it->second.model));
                it = loaded_.erase(it);
            } else {
                it->second.unload_requested = true;  // the last lease to end unloads it
                ++it;
            }
        }
    }
    changed_.notify_all();
}

std::vector<Scheduler::Running> Scheduler::running() const {
    std::vector<Running> out;
    std::lock_guard lock(mutex_);
    const auto steady_now = SteadyClock::now();
    const auto system_now = std::chrono::system_clock::now();
    for (const auto& [key, e] : loaded_) {
        Running r;
        r.model = e.model;
        r.stored = e.model->stored();
        r.size_bytes = e.model->size_bytes();
        r.context_length = e.model->num_ctx();
        r.forever = e.keep_alive.forever;
        // While a request runs, the model expires keep_alive after it ends; report that from now.
        const auto remaining = e.active > 0 || e.expires == SteadyClock::time_point::max()
                                   ? std::chrono::duration_cast<std::chrono::system_clock::duration>(e.keep_alive.duration)
                                   : std::chrono::duration_cast<std::chrono::system_clock::duration>(e.expires - steady_now);
        r.expires_at = system_now + remaining;
        out.push_back(std::move(r));
    }
    std::sort(out.begin(), out.end(), [](const Running& a, const Running& b) {
        if (a.forever != b.forever) return a.forever;
        return a.expires_at > b.expires_at;
    });
    return out;
}

void Scheduler::expire_loop() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        std::vector<std::shared_ptr<LoadedModel>> unloaded;
        auto next = SteadyClock::time_point::max();
        const auto now = SteadyClock::now();
        for (auto it = loaded_.begin(); it != loaded_.end();) {
            if (it->second.active == 0 && it->second.expires <= now) {
                log_unload(*it->second.model, "keep_alive expired");
                unloaded.push_back(std::move(it->second.model));
                it = loaded_.erase(it);
            } else {
                if (it->second.active == 0) next = std::min(next, it->second.expires);
                ++it;
            }
        }
        if (!unloaded.empty()) {
            lock.unlock();
            unloaded.clear();  // free the models outside the lock
            lock.lock();
            changed_.notify_all();
            continue;
        }
        if (next == SteadyClock::time_point::max()) changed_.wait(lock);
        else changed_.wait_until(lock, next);
    }
    loaded_.clear();
}

}  // namespace rockllm
