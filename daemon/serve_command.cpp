#include "daemon/serve_command.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include <pthread.h>

#include "api/ollama_server.h"
#include "daemon/command_line.h"
#include "daemon/environment.h"

namespace rockllm {

int run_serve_command(const std::vector<std::string>& args) {
    if (!args.empty()) throw UsageError("serve takes no arguments (configure it with OLLAMA_* variables)");
    const char* host_env = std::getenv("OLLAMA_HOST");
    ListenAddress address;
    ServerOptions options;
    try {
        address = parse_ollama_host(host_env ? host_env : "");
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

    ModelStore store(models);
    if (const int removed = store.remove_stale_temporaries(); removed > 0)
        std::fprintf(stderr, "rockllm: removed %d unfinished file(s) an earlier run left in %s\n", removed, models.c_str());
    OllamaServer server(std::move(store), options);
    std::thread signal_thread([&] {
        int signal = 0;
        sigwait(&signals, &signal);
        std::fprintf(stderr, "rockllm: received %s, shutting down\n", signal == SIGINT ? "SIGINT" : "SIGTERM");
        server.stop();
    });
    std::fprintf(stderr, "rockllm: listening on %s:%d, models in %s\n", options.host.c_str(), options.port, models.c_str());
    const bool ok = server.listen();
    if (!ok) {
        std::fprintf(stderr, "Error: cannot listen on %s:%d (address in use?)\n", options.host.c_str(), options.port);
        pthread_kill(signal_thread.native_handle(), SIGTERM);  // release the waiting thread
    }
    signal_thread.join();
    return ok ? 0 : 1;
}

}  // namespace rockllm
