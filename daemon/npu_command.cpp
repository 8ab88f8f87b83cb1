#include "daemon/npu_command.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <thread>

#include <sys/utsname.h>
#include <unistd.h>

#include "daemon/api_client.h"
#include "daemon/command_line.h"
#include "daemon/environment.h"
#include "llm/model.h"
#include "models/model_store.h"
#include "npu/backend/accuracy.h"
#include "npu/backend/npu_model.h"
#include "npu/backend/npu_startup.h"
#include "tokenizer/tokenizer.h"
#include "llm/ggml_type.h"
#include "npu/backend/self_test.h"
#include "npu/drm_device.h"
#include "npu/npu_matmul.h"
#include "npu/regcmd_decode.h"

namespace rockllm {

namespace {

using namespace rockllm::npu;

const char* driver_name(DriverKind d) { return d == DriverKind::Rocket ? "rocket" : "rknpu"; }

DeviceNode require_node() {
    const auto node = find_npu_node();
    if (!node)
        throw std::runtime_error("no NPU found: looked for /dev/accel/accel* (the mainline rocket driver) and DRM nodes named "
                                 "rknpu (Rockchip's driver). On a board, check `dmesg | grep -i -e rocket -e rknpu`");
    return *node;
}

int info() {
    const DeviceNode node = require_node();
    std::printf("driver    %s %s\nnode      %s\ncores     3 (RK3588)\n", driver_name(node.driver), node.version.c_str(), node.path.c_str());
    if (const char* simulated = std::getenv("ROCKLLM_NPU_SIMULATE")) std::printf("simulated yes (ROCKLLM_NPU_SIMULATE=%s)\n", simulated);
    return 0;
}

struct Shape {
    int64_t m, k, n;
};
constexpr Shape kShapes[] = {{1, 8, 8}, {2, 100, 48}, {7, 512, 100}, {64, 1000, 512}, {129, 9000, 40}, {1, 896, 4864}};

// One shape's outcome on one core (rknpu) or fd (Rocket).
struct ShapeRecord {
    std::string where;
    MatmulType type;
    Shape shape;
    ShapeResult result;
    std::string error;
};

// Every shape, both types, on one device.
std::vector<ShapeRecord> run_shapes(NpuDevice& device, const std::string& where) {
    std::vector<ShapeRecord> records;
    uint32_t seed = 1;
    for (const MatmulType type : {MatmulType::Int8, MatmulType::Fp16})
        for (const Shape& s : kShapes) {
            ShapeRecord& r = records.emplace_back(ShapeRecord{where, type, s, {}, {}});
            try {
                r.result = check_shape(device, type, s.m, s.k, s.n, seed++);
            } catch (const std::exception& e) {
                r.error = e.what();
            }
        }
    return records;
}

void print_record(const ShapeRecord& r) {
    const ShapeResult& x = r.result;
    std::printf("%-6s %-6s %6lld %6lld %6lld  %-12.3g %10.1f %10.1f %12.1f  %s%s%s\n", r.where.c_str(), matmul_type_name(r.type),
                (long long)r.shape.m, (long long)r.shape.k, (long long)r.shape.n, x.worst, x.times.pack_ns / 1e3, x.times.unpack_ns / 1e3,
                x.times.device_ns / 1e3, x.pass ? "pass" : "FAIL", r.error.empty() ? "" : ": ", r.error.c_str());
}

std::string first_line_of(const char* path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    // Device-tree strings end in NUL.
    return line.substr(0, line.find('\0'));
}

// What a person with a board attaches to a bug report: the kernel, the board, the driver, and
// every shape's outcome and times.
void write_report(const std::string& path, const DeviceNode& node, const std::vector<ShapeRecord>& records) {
    utsname u{};
    uname(&u);
    nlohmann::json report = {{"rockllm", ROCKLLM_VERSION},
                             {"kernel", std::string(u.sysname) + " " + u.release + " " + u.version + " " + u.machine},
                             {"board", first_line_of("/proc/device-tree/model")},
                             {"driver", driver_name(node.driver)},
                             {"driver_version", node.version},
                             {"node", node.path},
                             {"simulated", std::getenv("ROCKLLM_NPU_SIMULATE") ? std::getenv("ROCKLLM_NPU_SIMULATE") : ""},
                             {"shapes", nlohmann::json::array()}};
    int failures = 0;
    for (const ShapeRecord& r : records) {
        failures += !r.result.pass;
        report["shapes"].push_back({{"core", r.where}, {"type", matmul_type_name(r.type)}, {"m", r.shape.m}, {"k", r.shape.k},
                                    {"n", r.shape.n}, {"pass", r.result.pass}, {"max_error", r.result.worst}, {"error", r.error},
                                    {"pack_us", r.result.times.pack_ns / 1e3}, {"unpack_us", r.result.times.unpack_ns / 1e3},
                                    {"device_us", r.result.times.device_ns / 1e3}});
    }
    report["failures"] = failures;
    std::ofstream out(path);
    out << report.dump(2) << "\n";
    if (!out) throw std::runtime_error("cannot write the report to " + path);
}

int selftest(const std::optional<std::string>& report_path) {
    const DeviceNode node = require_node();
    std::printf("NPU selftest on %s (%s %s): C = A·Bᵀ against the CPU\n", node.path.c_str(), driver_name(node.driver), node.version.c_str());
    std::printf("%-6s %-6s %6s %6s %6s  %-12s %10s %10s %12s  %s\n", "core", "type", "M", "K", "N", "max error", "pack A us",
                "unpack us", "device us", "result");
    std::vector<ShapeRecord> records;
    auto device = open_npu_device(node);
    if (device->select_core(0)) {
        // rknpu: each core in turn, through its core mask.
        for (int core = 0; core < 3; ++core) {
            device->select_core(core);
            for (ShapeRecord& r : run_shapes(*device, std::to_string(core))) records.push_back(std::move(r));
        }
    } else {
        // Rocket: the kernel places each fd's jobs; three fds working at once keep every core busy.
        std::vector<std::unique_ptr<NpuDevice>> devices;
        devices.push_back(std::move(device));
        for (int i = 1; i < 3; ++i) devices.push_back(open_npu_device(node));
        std::vector<std::vector<ShapeRecord>> results(devices.size());
        std::vector<std::thread> workers;
        for (size_t i = 0; i < devices.size(); ++i)
            workers.emplace_back([&, i] { results[i] = run_shapes(*devices[i], "fd" + std::to_string(i + 1)); });
        for (auto& w : workers) w.join();
        for (auto& list : results)
            for (ShapeRecord& r : list) records.push_back(std::move(r));
    }
    int failures = 0;
    for (const ShapeRecord& r : records) {
        print_record(r);
        failures += !r.result.pass;
    }
    if (node.driver == DriverKind::Rocket) std::printf("(Rocket chooses the core of each fd's jobs; three fds ran at once)\n");
    std::printf(failures ? "%d shape(s) failed: do not trust this NPU\n" : "all shapes pass\n", failures);
    if (report_path) {
        write_report(*report_path, node, records);
        std::printf("report written to %s\n", report_path->c_str());
    }
    return failures ? 1 : 0;
}

// rockllm npu decode FILE: a trace (ROCKLLM_NPU_TRACE) or a raw list as named register writes.
int decode(const std::string& path) {
    std::fputs(decode_file(path).c_str(), stdout);
    return 0;
}

}  // namespace

// The running server's NPU counters (GET /api/npu/stats).
int stats() {
    ApiClient client;
    const nlohmann::json s = client.get("/api/npu/stats");
    if (s.value("backend", "") != "npu") {
        std::printf("backend   CPU%s%s\n", s.contains("reason") ? ": " : "", s.value("reason", "").c_str());
    } else {
        std::printf("backend   NPU, %s, %s weights\n", s.value("device", "").c_str(), s.value("type", "").c_str());
        std::printf("%-5s %10s %10s %10s %12s %12s %7s %9s\n", "core", "jobs", "busy s", "device s", "projected s", "MB moved", "queue",
                    "max queue");
        for (const auto& c : s["cores"])
            std::printf("%-5d %10lld %10.3f %10.3f %12.3f %12.1f %7d %9d\n", c["core"].get<int>(), c["jobs"].get<long long>(),
                        c["busy_seconds"].get<double>(), c["device_seconds"].get<double>(), c["projected_seconds"].get<double>(),
                        c["bytes"].get<double>() / 1e6, c["queue_depth"].get<int>(), c["max_queue_depth"].get<int>());
    }
    for (const auto& m : s["models"]) {
        std::printf("model     %s: ", m["name"].get<std::string>().c_str());
        if (m.contains("kv_pages_in_use"))
            std::printf("KV pages %lld in use (%lld shared), %lld allocated of %lld (%s)", m["kv_pages_in_use"].get<long long>(),
                        m.value("kv_pages_shared", 0LL), m["kv_pages_allocated"].get<long long>(), m["kv_pages_max"].get<long long>(),
                        m["kv_memory"].get<std::string>().c_str());
        else
            std::printf("an encoder, no KV cache");
        if (m.contains("npu_calls"))
            std::printf("; %lld products on the NPU, %lld on the CPU%s%s", m["npu_calls"].get<long long>(), m["cpu_calls"].get<long long>(),
                        m.value("fell_back_to_cpu", false) ? "; fell back to the CPU: " : "", m.value("fallback_reason", "").c_str());
        std::printf("\n");
    }
    return 0;
}

// A GGUF file, or a model of the store (OLLAMA_MODELS) by name.
std::string model_file(const std::string& model) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(model, ec)) return model;
    const ModelStore store(models_directory());
    const auto stored = store.find(ModelName::parse(model));
    if (!stored) throw std::runtime_error("no file or model named '" + model + "'");
    const Layer* weights = stored->manifest.first(media_type::kModel);
    if (!weights) throw std::runtime_error("model '" + model + "' has no model layer");
    return store.blob_path(weights->digest).string();
}

// rockllm npu accuracy MODEL [--prompt TEXT] [--tokens N] [--type int8|fp16]: the reference (the
// CPU path) and the NPU path side by side, layer by layer.
int accuracy(const std::vector<std::string>& args) {
    const CommandLine cl(args, {"prompt", "tokens", "type"});
    if (cl.positional().size() != 1) throw UsageError("usage: rockllm npu accuracy MODEL [--prompt TEXT] [--tokens N] [--type int8|fp16]");
    const std::string path = model_file(cl.positional()[0]);
    const std::string prompt_text = cl.get("prompt").value_or("Once upon a time, in a small village by the sea, there lived");
    const int64_t continuation = cl.get_int("tokens", 32);
    if (continuation < 0) throw UsageError("--tokens must not be negative");
    MatmulType type = npu_type_from_environment();
    if (const auto t = cl.get("type")) {
        if (*t != "int8" && *t != "fp16") throw UsageError("--type is int8 or fp16");
        type = *t == "int8" ? MatmulType::Int8 : MatmulType::Fp16;
    }

    auto file = std::make_shared<const gguf::File>(gguf::File::open(path));
    const Model model = Model::load(file);
    const auto tokenizer = load_tokenizer(*file);
    check_vocabulary_size(*tokenizer, model.config.n_vocab);
    const std::vector<int32_t> prompt = tokenizer->encode(prompt_text, /*add_special=*/true, /*parse_special=*/true);
    NpuStartup startup = start_npu(BackendChoice::Npu);
    if (!startup.cores) throw std::runtime_error(startup.reason);
    NpuModelOptions o;
    o.type = type;
    ThreadPool pool(default_thread_count());
    NpuModel npu_model(model, *startup.cores, o, pool);
    TransformerOptions t;
    t.n_ctx = std::min<int64_t>(model.config.n_ctx_train, static_cast<int64_t>(prompt.size()) + continuation + 1);
    Transformer reference(model, t), candidate(model, t, npu_model.make_backend());
    const AccuracyReport r = compare_backends(reference, candidate, prompt, continuation);

    std::printf("NPU accuracy of %s: %s on %s against the CPU path, %zu prompt tokens\n", path.c_str(), matmul_type_name(type),
                startup.cores->description().c_str(), prompt.size());
    std::printf("%-8s %14s %14s\n", "layer", "cosine min", "cosine mean");
    for (const LayerAgreement& l : r.layers) std::printf("%-8lld %14.6f %14.6f\n", (long long)l.layer, l.cosine_min, l.cosine_mean);
    std::printf("logits   %14.6f\n", r.logits_cosine);
    std::printf("next-token agreement: %lld of %lld positions (%.1f %%), teacher-forced on the CPU path's greedy tokens\n",
                (long long)r.top1_agreements, (long long)r.positions, 100.0 * double(r.top1_agreements) / double(r.positions));
    return 0;
}

int run_npu_command(const std::vector<std::string>& args) {
    if (!args.empty() && args[0] == "accuracy") {
        try {
            return accuracy(std::vector<std::string>(args.begin() + 1, args.end()));
        } catch (const UsageError&) {
            throw;
        } catch (const std::exception& e) {
            std::fprintf(stderr, "Error: %s\n", e.what());
            return 1;
        }
    }
    const char* usage = "usage: rockllm npu info | selftest [--report FILE] | stats | decode FILE | accuracy MODEL";
    std::optional<std::string> report;
    if (args.size() == 3 && args[0] == "selftest" && args[1] == "--report") report = args[2];
    const bool known = (args.size() == 1 && (args[0] == "info" || args[0] == "selftest" || args[0] == "stats")) ||
                       (args.size() == 2 && args[0] == "decode") || report;
    if (!known) throw UsageError(usage);
    try {
        if (args[0] == "stats") return stats();
        if (args[0] == "decode") return decode(args[1]);
        return args[0] == "info" ? info() : selftest(report);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "Error: %s\n", e.what());
        return 1;
    }
}

void preload_simulated_npu(char** argv) {
    const char* simulate = std::getenv("ROCKLLM_NPU_SIMULATE");
    if (!simulate || !*simulate) return;
    if (std::strcmp(simulate, "rocket") != 0 && std::strcmp(simulate, "rknpu") != 0) {
        std::fprintf(stderr, "Error: ROCKLLM_NPU_SIMULATE must be \"rocket\" or \"rknpu\", not \"%s\"\n", simulate);
        std::exit(2);
    }
    const char* preload = std::getenv("LD_PRELOAD");
    if (preload && std::strstr(preload, "librockllm_fake_npu.so")) return;  // already in place
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    fs::path library;
    for (const fs::path& candidate : {exe.parent_path() / "librockllm_fake_npu.so", exe.parent_path() / "../lib/rockllm/librockllm_fake_npu.so"})
        if (fs::exists(candidate, ec)) {
            library = fs::canonical(candidate, ec);
            break;
        }
    if (library.empty()) {
        std::fprintf(stderr, "Error: ROCKLLM_NPU_SIMULATE is set, but librockllm_fake_npu.so is not next to %s\n", exe.c_str());
        std::exit(2);
    }
    std::string value = library.string();
    if (preload && *preload) value.append(":").append(preload);
    setenv("LD_PRELOAD", value.c_str(), 1);
    // Sanitizer builds want their runtime first in the list; the simulated device is not instrumented.
    std::string asan = std::getenv("ASAN_OPTIONS") ? std::getenv("ASAN_OPTIONS") : "";
    if (!asan.empty()) asan.append(":");
    asan.append("verify_asan_link_order=0");
    setenv("ASAN_OPTIONS", asan.c_str(), 1);
    execv(exe.c_str(), argv);
    std::fprintf(stderr, "Error: cannot re-execute %s with the simulated NPU: %s\n", exe.c_str(), std::strerror(errno));
    std::exit(2);
}

}  // namespace rockllm
