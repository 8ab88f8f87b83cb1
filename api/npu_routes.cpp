// The NPU's counters over HTTP: per core (jobs, busy and device time, the timing model's time,
// queue depth) and per loaded model (calls on the NPU and on the CPU, a fallback and its reason,
// KV pages). `rockllm npu stats` reads the JSON; /metrics has the same numbers for Prometheus.
#include <httplib.h>

#include <sstream>

#include "api/http_json.h"
#include "api/server_context.h"
#include "npu/backend/npu_startup.h"

namespace rockllm {

namespace {

nlohmann::json npu_stats(const ServerContext& context) {
    nlohmann::json out;
    npu::NpuCores* cores = context.scheduler.options().npu;
    out["backend"] = cores ? "npu" : "cpu";
    if (cores) {
        out["device"] = cores->description();
        out["type"] = npu::matmul_type_name(context.scheduler.options().npu_type);
        nlohmann::json list = nlohmann::json::array();
        int index = 0;
        for (const npu::CoreStats& s : cores->stats())
            list.push_back({{"core", index++}, {"jobs", s.jobs}, {"busy_seconds", s.busy_ns * 1e-9}, {"device_seconds", s.device_ns * 1e-9},
                            {"projected_seconds", s.projected_ns * 1e-9}, {"bytes", s.bytes}, {"queue_depth", s.queue_depth},
                            {"max_queue_depth", s.max_queue_depth}});
        out["cores"] = list;
    } else if (!context.cpu_reason.empty()) {
        out["reason"] = context.cpu_reason;
    }
    nlohmann::json models = nlohmann::json::array();
    for (const Scheduler::Running& r : context.scheduler.running()) {
        nlohmann::json m = {{"name", r.stored.name.display()},
                            {"prompt_tokens", r.model->prompt_tokens_total()},
                            {"prompt_tokens_cached", r.model->prompt_tokens_cached_total()},
                            {"forward_passes", r.model->batch_counters().passes},
                            {"forward_pass_tokens", r.model->batch_counters().tokens}};
        if (const KvPagePool* kv = r.model->kv_pool()) {
            m["kv_pages_in_use"] = kv->pages_in_use();
            m["kv_pages_allocated"] = kv->pages_allocated();
            m["kv_pages_shared"] = kv->pages_shared();
            m["kv_pages_max"] = kv->max_pages();
            m["kv_memory"] = kv->memory().name();
        }
        if (const npu::NpuModel* n = r.model->npu()) {
            const npu::NpuCallStats calls = n->call_stats();
            m["npu_calls"] = calls.npu_calls;
            m["cpu_calls"] = calls.cpu_calls;
            m["npu_weight_bytes"] = n->device_bytes();
            m["fell_back_to_cpu"] = n->failed();
            if (n->failed()) m["fallback_reason"] = n->failure();
        }
        models.push_back(m);
    }
    out["models"] = models;
    return out;
}

// Prometheus' text format: a # TYPE line, then samples, for each metric.
std::string metrics_text(const nlohmann::json& stats) {
    std::ostringstream out;
    const auto family = [&](const char* name, const char* type, const char* help) {
        out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
    };
    const auto label = [](const std::string& v) {
        std::string escaped;
        for (char c : v) {
            if (c == '\\' || c == '"') escaped += '\\';
            if (c == '\n') {
                escaped += "\\n";
                continue;
            }
            escaped += c;
        }
        return escaped;
    };
    family("rockllm_npu_enabled", "gauge", "1 when the engine runs its matrix products on the NPU");
    out << "rockllm_npu_enabled " << (stats["backend"] == "npu" ? 1 : 0) << '\n';
    if (stats.contains("cores")) {
        const std::pair<const char*, const char*> counters[] = {{"jobs", "jobs run"}, {"busy_seconds", "time spent running jobs"},
                                                                {"device_seconds", "time waiting for the device"},
                                                                {"projected_seconds", "RK3588 time the timing model projects for the jobs"},
                                                                {"bytes", "NPU memory traffic of the jobs' tasks (timing model)"}};
        for (const auto& [key, help] : counters) {
            const std::string name = std::string("rockllm_npu_core_") + key + "_total";
            family(name.c_str(), "counter", help);
            for (const auto& c : stats["cores"]) out << name << "{core=\"" << c["core"].get<int>() << "\"} " << c[key].dump() << '\n';
        }
        for (const char* key : {"queue_depth", "max_queue_depth"}) {
            const std::string name = std::string("rockllm_npu_core_") + key;
            family(name.c_str(), "gauge", key == std::string("queue_depth") ? "jobs waiting" : "most jobs that waited at once");
            for (const auto& c : stats["cores"]) out << name << "{core=\"" << c["core"].get<int>() << "\"} " << c[key].dump() << '\n';
        }
    }
    const std::pair<const char*, const char*> model_metrics[] = {{"kv_pages_in_use", "KV cache pages held by running requests and slots' prompt caches"},
                                                                 {"prompt_tokens", "prompt tokens of the requests run"},
                                                                 {"prompt_tokens_cached", "of them, the ones a slot's prompt cache held or shared with another slot (not run again)"},
                                                                 {"kv_pages_shared", "KV cache pages of a common prefix held by more than one slot"},
                                                                 {"kv_pages_allocated", "KV cache pages allocated (in use or free)"},
                                                                 {"forward_passes", "forward passes of the model's engine"},
                                                                 {"forward_pass_tokens", "tokens those passes ran (over the passes: the batching)"},
                                                                 {"npu_calls", "matrix products run on the NPU"},
                                                                 {"cpu_calls", "matrix products run on the CPU"}};
    for (const auto& [key, help] : model_metrics) {
        const std::string name = std::string("rockllm_model_") + key;
        family(name.c_str(), "gauge", help);
        for (const auto& m : stats["models"])
            if (m.contains(key)) out << name << "{model=\"" << label(m["name"].get<std::string>()) << "\"} " << m[key].dump() << '\n';
    }
    family("rockllm_model_fell_back_to_cpu", "gauge", "1 when an NPU failure sent the model's products to the CPU");
    for (const auto& m : stats["models"])
        if (m.contains("fell_back_to_cpu"))
            out << "rockllm_model_fell_back_to_cpu{model=\"" << label(m["name"].get<std::string>()) << "\"} "
                << (m["fell_back_to_cpu"].get<bool>() ? 1 : 0) << '\n';
    return out.str();
}

void stats(ServerContext& context, const httplib::Request&, httplib::Response& res) { send_json(res, 200, npu_stats(context)); }

void metrics(ServerContext& context, const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_text(npu_stats(context)), "text/plain; version=0.0.4; charset=utf-8");
}

}  // namespace

void register_npu_routes(RouteTable& routes, ServerContext& context) {
    routes.get("/api/npu/stats", native_route(context, stats));
    routes.get("/metrics", native_route(context, metrics));
}

}  // namespace rockllm
