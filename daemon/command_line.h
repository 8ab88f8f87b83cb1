// Flag parsing for the rockllm subcommands: "--name value" or "--name=value".
#pragma once

#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace rockllm {

class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class CommandLine {
public:
    // Every flag must be one of `known` (which take a value) or `switches` (which take none);
    // positional arguments are kept in order.
    CommandLine(const std::vector<std::string>& args, const std::set<std::string>& known,
                const std::set<std::string>& switches = {});

    bool has(const std::string& name) const { return values_.count(name) > 0; }

    std::optional<std::string> get(const std::string& name) const;  // the last value given
    std::vector<std::string> get_all(const std::string& name) const;  // every value, in order
    std::string require(const std::string& name) const;
    int64_t get_int(const std::string& name, int64_t fallback) const;
    double get_double(const std::string& name, double fallback) const;
    const std::vector<std::string>& positional() const { return positional_; }

private:
    std::map<std::string, std::vector<std::string>> values_;
    std::vector<std::string> positional_;
};

}  // namespace rockllm
