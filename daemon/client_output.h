// What the client commands print, as the ollama CLI prints it: sizes and times for people, tables,
// a model's /api/show answer, pull progress.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>

namespace rockllm {

// Ollama's HumanBytes: decimal units, whole numbers from 10 up.
std::string human_bytes(int64_t bytes);
// Seconds since the epoch of an RFC 3339 time ("2026-01-02T03:04:05.123Z", "+01:00" offsets too).
int64_t parse_time(const std::string& text);
// "3 minutes ago", "4 minutes from now", as Ollama's HumanTime.
std::string human_time(int64_t when);
// Columns padded to their widest cell plus four spaces, on stdout.
void print_table(const std::vector<std::vector<std::string>>& rows);
// The NAME / ID / SIZE / MODIFIED table of a /api/tags answer, on stdout.
void print_model_list(const nlohmann::json& tags);
// The model section, capabilities, parameters, system and license of a /api/show answer, on stdout.
void print_model_info(const nlohmann::json& info);
// A Go time.Duration as Go prints it ("1.5s", "312.5ms", "2m3.25s"), for the --verbose summary.
std::string go_duration(int64_t nanoseconds);

// Pull progress: one line per layer, redrawn in place on a terminal.
class PullProgress {
public:
    void operator()(const nlohmann::json& line) {
        const std::string status = line.value("status", "");
        if (line.contains("digest")) {
            const int64_t total = line.value("total", int64_t{0}), completed = line.value("completed", int64_t{0});
            const int percent = total > 0 ? static_cast<int>(100 * completed / total) : 0;
            char buffer[256];
            std::snprintf(buffer, sizeof buffer, "%s: %3d%% %s/%s", status.c_str(), percent, human_bytes(completed).c_str(), human_bytes(total).c_str());
            if (tty_) {
                std::fprintf(stderr, "\r%s\033[K", buffer);
                open_line_ = true;
                if (completed >= total) end_line();
            } else if (completed >= total && status != last_) {
                std::fprintf(stderr, "%s\n", buffer);
                last_ = status;
            }
            return;
        }
        end_line();
        if (status != last_) std::fprintf(stderr, "%s\n", status.c_str());
        last_ = status;
    }
    ~PullProgress() { end_line(); }

private:
    void end_line() {
        if (open_line_) std::fputc('\n', stderr);
        open_line_ = false;
    }
    bool tty_ = isatty(STDERR_FILENO);
    bool open_line_ = false;
    std::string last_;
};

}  // namespace rockllm
