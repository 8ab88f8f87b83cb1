#include "daemon/serve_command.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>

#include <pthread.h>
#include <sys/resource.h>

#include "api/ollama_server.h"
#include "daemon/command_line.h"
#include "daemon/environment.h"
#include "daemon/sd_notify.h"
#include "llm/kernels/vec_dot.h"
#include "llm/thread_pool.h"
#include "npu/backend/npu_startup.h"

namespace rockllm {

namespace {

// Pings systemd's watchdog while the scheduler answers, with a STATUS line of what is loaded.
class Watchdog {
public:
    Watchdog(OllamaServer& server, std::chrono::microseconds interval) : server_(server), interval_(interval / 2) {
        thread_ = std::thread([this] { run(); });
    }
    ~Watchdog() {
        {
            std::lock_guard lock(mutex_);
            stop_ = true;
        }
        wake_.notify_all();
        thread_.join();
    }

private:
    void run() {
        std::unique_lock lock(mutex_);
        while (!wake_.wait_for(lock, interval_, [this] { return stop_; })) {
            // A scheduler that does not answer within the interval is stuck: stop pinging, and
            // systemd restarts the service.
            if (!server_.responsive(std::chrono::duration_cast<std::chrono::milliseconds>(interval_))) continue;
            sd_notify("WATCHDOG=1\nSTATUS=" + server_.status_line());
        }
    }

    OllamaServer& server_;
    std::chrono::microseconds interval_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stop_ = false;
    std::thread thread_;
};

// What an earlier run left in the store: unfinished files and blobs no model uses. With another
// server holding the store, only files an hour old are taken as abandoned, and blobs stay.
void sweep_store(const ModelStore& store, bool sole_user) {
    const std::string where = store.root().string();
    if (!sole_user) {
        const int removed = store.remove_stale_temporaries();
        std::fprintf(stderr, "rockllm: another rockllm serve uses %s (or it cannot be locked): unused blobs are not pruned%s\n", where.c_str(),
                     removed > 0 ? (", " + std::to_string(removed) + " stale unfinished file(s) removed").c_str() : "");
        return;
    }
    const StoreSweep sweep = store.sweep_at_start(prune_enabled());
    if (sweep.temporaries > 0)
        std::fprintf(stderr, "rockllm: removed %d unfinished file(s) an earlier run left in %s\n", sweep.temporaries, where.c_str());
    if (sweep.blobs > 0)
        std::fprintf(stderr, "rockllm: pruned %d blob(s) no model uses (%.1f MB)\n", sweep.blobs, static_cast<double>(sweep.blob_bytes) / 1e6);
    if (!sweep.blobs_skipped.empty()) std::fprintf(stderr, "rockllm: unused blobs not pruned: %s\n", sweep.blobs_skipped.c_str());
}

}  // namespace

int run_serve_command(const std::vector<std::string>& args) {
    const CommandLine cl(args, {"backend"});
    if (!cl.positional().empty()) throw UsageError("serve takes no arguments but --backend (configure it with OLLAMA_* variables)");
    const char* host_env = std::getenv("OLLAMA_HOST");
    ListenAddress address;
    ServerOptions options;
    npu::BackendChoice backend;
    npu::MatmulType npu_type;
    try {
        address = parse_ollama_host(host_env ? host_env : "");
        backend = npu::backend_choice(cl.get("backend"));
        npu_type = npu::npu_type_from_environment();
        options.scheduler = scheduler_options();
        options.origins = extra_origins();
        options.debug = debug_enabled();
    } catch (const std::invalid_argument& e) {
        throw UsageError(e.what());
    }
    options.host = address.host;
    options.port = address.port;
    const std::string models = models_directory();

    // SIGINT/SIGTERM are taken by a thread that stops the server, so shutdown is an orderly return.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    // A file-size limit (ulimit -f, systemd's LimitFSIZE) fails the write that passes it, which
    // the request answers; by default the signal would kill the server.
    std::signal(SIGXFSZ, SIG_IGN);
    // Connections waiting for their request head hold a file each, not a thread: take the hard
    // limit on open files (often 1024 soft) so hundreds of them do not stop new ones.
    if (rlimit files{}; getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < std::min<rlim_t>(files.rlim_max, 65536)) {
        files.rlim_cur = std::min<rlim_t>(files.rlim_max, 65536);
        setrlimit(RLIMIT_NOFILE, &files);
    }

    // The NPU, checked against the CPU before it is trusted; without it every model runs on the CPU.
    npu::NpuStartup npu_startup = npu::start_npu(backend);
    options.scheduler.npu = npu_startup.cores.get();
    options.scheduler.npu_type = npu_type;
    options.cpu_reason = npu_startup.reason;

    ModelStore store(models);
    const std::unique_ptr<StoreLock> store_lock = StoreLock::try_acquire(models);
    sweep_store(store, store_lock != nullptr);
    OllamaServer server(std::move(store), options);
    std::thread signal_thread([&] {
        int signal = 0;
        sigwait(&signals, &signal);
        std::fprintf(stderr, "rockllm: received %s, shutting down\n", signal == SIGINT ? "SIGINT" : "SIGTERM");
        sd_notify("STOPPING=1");
        server.stop();
    });
    std::unique_ptr<Watchdog> watchdog;
    const bool ok = server.listen([&] {
        std::fprintf(stderr, "rockllm: listening on %s:%d, models in %s\n", options.host.c_str(), options.port, models.c_str());
        if (npu_startup.cores)
            std::fprintf(stderr, "rockllm: backend NPU (%s, self-test passed, %s weights; %s kernels for the rest, %d threads)\n",
                         npu_startup.cores->description().c_str(), npu::matmul_type_name(npu_type),
                         kernels::isa_name(kernels::detected_isa()), default_thread_count());
        else
            std::fprintf(stderr, "rockllm: backend CPU (%s kernels, %d threads)%s%s\n", kernels::isa_name(kernels::detected_isa()),
                         default_thread_count(), npu_startup.reason.empty() ? "" : ": ", npu_startup.reason.c_str());
        sd_notify("READY=1\nSTATUS=" + server.status_line());
        if (const auto interval = watchdog_interval()) watchdog = std::make_unique<Watchdog>(server, *interval);
    });
    watchdog.reset();
    if (!ok) {
        std::fprintf(stderr, "Error: cannot listen on %s:%d (address in use?)\n", options.host.c_str(), options.port);
        pthread_kill(signal_thread.native_handle(), SIGTERM);  // release the waiting thread
    }
    signal_thread.join();
    return ok ? 0 : 1;
}

}  // namespace rockllm
