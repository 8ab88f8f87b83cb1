#include "npu/trace.h"

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <sstream>
#include <stdexcept>

namespace rockllm::npu {

void trace_job(const std::string& driver, uint32_t core_mask, const std::vector<TaskRef>& tasks, size_t first, size_t last) {
    static const char* path = std::getenv("ROCKLLM_NPU_TRACE");
    if (!path || !*path) return;
    static std::mutex mutex;  // the cores' workers submit at once
    std::lock_guard lock(mutex);
    FILE* f = std::fopen(path, "a");
    if (!f) return;
    std::fprintf(f, "job %s core_mask %u tasks %zu\n", driver.c_str(), core_mask, last - first);
    for (size_t i = first; i < last; ++i) {
        const TaskRef& t = tasks[i];
        std::fprintf(f, "task %zu iova 0x%08" PRIx64 " entries %u\n", i - first, t.iova(), t.count);
        for (uint32_t e = 0; e < t.count; ++e) std::fprintf(f, "%016" PRIx64 "%c", t.entries()[e], e % 4 == 3 || e + 1 == t.count ? '\n' : ' ');
    }
    std::fclose(f);
}

std::vector<TracedJob> read_trace(const std::string& text) {
    std::vector<TracedJob> jobs;
    std::istringstream in(text);
    std::string word;
    size_t expected = 0;
    while (in >> word) {
        if (word == "job") {
            std::string rest;
            std::getline(in, rest);
            jobs.push_back({"job" + rest, {}});
        } else if (word == "task") {
            if (jobs.empty()) throw std::runtime_error("a trace's task comes before any job line");
            size_t index = 0;
            std::string iova_word, hex, entries_word;
            if (!(in >> index >> iova_word >> hex >> entries_word >> expected) || iova_word != "iova" || entries_word != "entries" ||
                expected > (1u << 20))
                throw std::runtime_error("a malformed task line in the trace");
            TracedJob::Task task;
            task.iova = std::strtoull(hex.c_str(), nullptr, 16);
            for (size_t e = 0; e < expected; ++e) {
                if (!(in >> hex) || hex.size() != 16) throw std::runtime_error("a task of the trace has fewer entries than its line says");
                task.entries.push_back(std::strtoull(hex.c_str(), nullptr, 16));
            }
            jobs.back().tasks.push_back(std::move(task));
        } else {
            throw std::runtime_error("not a trace: unexpected '" + word.substr(0, 32) + "'");
        }
    }
    return jobs;
}

}  // namespace rockllm::npu
