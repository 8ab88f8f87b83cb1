#include "daemon/client_output.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <sstream>

namespace rockllm {

using nlohmann::json;

namespace {

std::string plural(int64_t n, const char* unit) { return std::to_string(n) + " " + unit + (n == 1 ? "" : "s"); }

}  // namespace

std::string human_bytes(int64_t bytes) {
    const char* units[] = {"B", "KB", "MB", "GB", "TB"};
    double value = static_cast<double>(bytes);
    int unit = 0;
    while (value >= 1000 && unit < 4) {
        value /= 1000;
        ++unit;
    }
    char buffer[32];
    if (unit == 0 || value >= 10 || value == static_cast<int64_t>(value)) std::snprintf(buffer, sizeof buffer, "%d %s", static_cast<int>(value), units[unit]);
    else std::snprintf(buffer, sizeof buffer, "%.1f %s", value, units[unit]);
    return buffer;
}

int64_t parse_time(const std::string& text) {
    std::tm tm{};
    if (text.size() < 19 || !strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return 0;
    int64_t seconds = timegm(&tm);
    const size_t zone = text.find_first_of("Z+-", 19);
    if (zone != std::string::npos && text[zone] != 'Z' && zone + 5 < text.size() + 1) {
        const int hours = std::stoi(text.substr(zone + 1, 2)), minutes = std::stoi(text.substr(zone + 4, 2));
        seconds -= (text[zone] == '+' ? 1 : -1) * (hours * 3600 + minutes * 60);
    }
    return seconds;
}

std::string human_time(int64_t when) {
    const int64_t now = std::time(nullptr);
    const int64_t d = when > now ? when - now : now - when;
    const char* suffix = when > now ? " from now" : " ago";
    if (when > now && d > 100LL * 365 * 86400) return "Forever";
    if (d < 1) return when > now ? "Less than a second from now" : "Less than a second ago";
    if (d < 60) return plural(d, "second") + suffix;
    if (d < 120) return std::string("About a minute") + suffix;
    if (d < 3600) return plural(d / 60, "minute") + suffix;
    if (d < 7200) return std::string("About an hour") + suffix;
    if (d < 86400 * 2) return plural(d / 3600, "hour") + suffix;
    if (d < 86400 * 14) return plural(d / 86400, "day") + suffix;
    if (d < 86400 * 60) return plural(d / (7 * 86400), "week") + suffix;
    if (d < 86400 * 730) return plural(d / (30 * 86400), "month") + suffix;
    return plural(d / (365 * 86400), "year") + suffix;
}

void print_table(const std::vector<std::vector<std::string>>& rows) {
    std::vector<size_t> width;
    for (const auto& row : rows)
        for (size_t i = 0; i < row.size(); ++i) {
            if (width.size() <= i) width.push_back(0);
            width[i] = std::max(width[i], row[i].size());
        }
    for (const auto& row : rows) {
        std::string line;
        for (size_t i = 0; i < row.size(); ++i) line += i + 1 < row.size() ? row[i] + std::string(width[i] - row[i].size() + 4, ' ') : row[i];
        std::printf("%s\n", line.c_str());
    }
}

void print_model_list(const json& tags) {
    std::vector<std::vector<std::string>> rows = {{"NAME", "ID", "SIZE", "MODIFIED"}};
    for (const json& m : tags.value("models", json::array()))
        rows.push_back({m.value("name", ""), m.value("digest", "").substr(0, 12), human_bytes(m.value("size", int64_t{0})),
                        human_time(parse_time(m.value("modified_at", "")))});
    print_table(rows);
}

void print_model_info(const json& info) {
    const json mi = info.value("model_info", json::object());
    const std::string arch = mi.value("general.architecture", "");
    std::vector<std::vector<std::string>> model = {{"    architecture", arch}, {"    parameters", info["details"].value("parameter_size", "")}};
    if (mi.contains(arch + ".context_length")) model.push_back({"    context length", mi[arch + ".context_length"].dump()});
    if (mi.contains(arch + ".embedding_length")) model.push_back({"    embedding length", mi[arch + ".embedding_length"].dump()});
    model.push_back({"    quantization", info["details"].value("quantization_level", "")});
    std::printf("  Model\n");
    print_table(model);
    std::printf("\n  Capabilities\n");
    for (const json& c : info.value("capabilities", json::array())) std::printf("    %s\n", c.get<std::string>().c_str());
    auto section = [](const char* title, const std::string& text) {
        if (text.empty()) return;
        std::printf("\n  %s\n", title);
        std::istringstream lines(text);
        for (std::string line; std::getline(lines, line);) std::printf("    %s\n", line.c_str());
    };
    section("Parameters", info.value("parameters", ""));
    section("System", info.value("system", ""));
    section("License", info.value("license", ""));
    std::printf("\n");
}

std::string go_duration(int64_t ns) {
    // Go prints the shortest exact decimal: a fraction with its trailing zeros cut.
    const auto with_fraction = [](int64_t value, int64_t unit, int digits) {
        std::string out = std::to_string(value / unit);
        std::string fraction = std::to_string(value % unit);
        fraction.insert(0, static_cast<size_t>(digits) - fraction.size(), '0');
        while (!fraction.empty() && fraction.back() == '0') fraction.pop_back();
        return fraction.empty() ? out : out + "." + fraction;
    };
    if (ns == 0) return "0s";
    const std::string sign = ns < 0 ? "-" : "";
    const int64_t n = ns < 0 ? -ns : ns;
    if (n < 1000) return sign + std::to_string(n) + "ns";
    if (n < 1000000) return sign + with_fraction(n, 1000, 3) + "\u00b5s";
    if (n < 1000000000) return sign + with_fraction(n, 1000000, 6) + "ms";
    const int64_t hours = n / 3600000000000LL, minutes = n / 60000000000LL % 60;
    std::string out = sign;
    if (hours > 0) out += std::to_string(hours) + "h";
    if (hours > 0 || minutes > 0) out += std::to_string(minutes) + "m";
    return out + with_fraction(n % 60000000000LL, 1000000000, 9) + "s";
}

}  // namespace rockllm
