#include "models/modelfile.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>

#include "base/ascii.h"

namespace rockllm {

namespace {

enum class OptionType { Integer, Float, Boolean, StringList };

// The options a params layer may hold, with their JSON types (Ollama's api.Options).
const std::map<std::string, OptionType>& option_types() {
    static const std::map<std::string, OptionType> types = {
        {"num_ctx", OptionType::Integer},       {"num_batch", OptionType::Integer},
        {"num_gpu", OptionType::Integer},       {"main_gpu", OptionType::Integer},
        {"num_thread", OptionType::Integer},    {"num_keep", OptionType::Integer},
        {"seed", OptionType::Integer},          {"num_predict", OptionType::Integer},
        {"top_k", OptionType::Integer},         {"repeat_last_n", OptionType::Integer},
        {"top_p", OptionType::Float},           {"min_p", OptionType::Float},
        {"typical_p", OptionType::Float},       {"temperature", OptionType::Float},
        {"repeat_penalty", OptionType::Float},  {"presence_penalty", OptionType::Float},
        {"frequency_penalty", OptionType::Float}, {"use_mmap", OptionType::Boolean},
        {"stop", OptionType::StringList},
    };
    return types;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

// Reads one instruction at a time; values may span lines ("""...""").
class Reader {
public:
    explicit Reader(std::string_view text) : text_(text) {}

    bool at_end() {
        skip_blank_and_comments();
        return pos_ >= text_.size();
    }
    int line() const { return line_; }

    std::string word() {
        skip_inline_space();
        const size_t start = pos_;
        while (pos_ < text_.size() && !std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
        return std::string(text_.substr(start, pos_ - start));
    }

    // The rest of the instruction: """block""", "quoted", or the rest of the line.
    std::string value() {
        skip_inline_space();
        if (text_.substr(pos_, 3) == "\"\"\"") {
            const size_t start = pos_ + 3;
            const size_t end = text_.find("\"\"\"", start);
            if (end == std::string_view::npos) fail("unterminated \"\"\" block");
            const std::string_view body = text_.substr(start, end - start);
            line_ += static_cast<int>(std::count(body.begin(), body.end(), '\n'));
            pos_ = end + 3;
            expect_end_of_line();
            return std::string(body);
        }
        if (pos_ < text_.size() && text_[pos_] == '"') {
            std::string out;
            for (++pos_; pos_ < text_.size() && text_[pos_] != '"'; ++pos_) {
                if (text_[pos_] == '\n') fail("unterminated quoted value");
                if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) {
                    ++pos_;
                    const char c = text_[pos_];
                    out += c == 'n' ? '\n' : c == 't' ? '\t' : c;
                } else {
                    out += text_[pos_];
                }
            }
            if (pos_ >= text_.size()) fail("unterminated quoted value");
            ++pos_;
            expect_end_of_line();
            return out;
        }
        const size_t end = std::min(text_.find('\n', pos_), text_.size());
        const std::string_view rest = trim(text_.substr(pos_, end - pos_));
        pos_ = end;
        return std::string(rest);
    }

    [[noreturn]] void fail(const std::string& what) const {
        throw ModelfileError("Modelfile line " + std::to_string(line_) + ": " + what);
    }

private:
    void skip_inline_space() {
        while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\r')) ++pos_;
    }
    void skip_blank_and_comments() {
        while (pos_ < text_.size()) {
            skip_inline_space();
            if (pos_ >= text_.size()) break;
            if (text_[pos_] == '#') {
                while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
            } else if (text_[pos_] != '\n') {
                break;
            }
            if (pos_ < text_.size()) {
                ++pos_;
                ++line_;
            }
        }
    }
    void expect_end_of_line() {
        skip_inline_space();
        if (pos_ < text_.size() && text_[pos_] != '\n' && text_[pos_] != '#') fail("unexpected text after the value");
    }

    std::string_view text_;
    size_t pos_ = 0;
    int line_ = 1;
};

}  // namespace

Modelfile parse_modelfile(std::string_view text) {
    Modelfile m;
    Reader r(text);
    bool has_from = false;
    while (!r.at_end()) {
        const std::string instruction = ascii_lower(r.word());
        if (instruction == "from") {
            m.from = r.value();
            has_from = true;
        } else if (instruction == "adapter") {
            m.adapters.push_back(r.value());
        } else if (instruction == "template") {
            m.template_text = r.value();
        } else if (instruction == "system") {
            m.system = r.value();
        } else if (instruction == "license") {
            m.licenses.push_back(r.value());
        } else if (instruction == "parameter") {
            std::string name = ascii_lower(r.word());
            if (name.empty()) r.fail("PARAMETER needs a name and a value");
            m.parameters.emplace_back(std::move(name), r.value());
        } else if (instruction == "message") {
            std::string role = ascii_lower(r.word());
            if (role != "system" && role != "user" && role != "assistant" && role != "tool")
                r.fail("MESSAGE role must be one of \"system\", \"user\", \"assistant\" or \"tool\"");
            m.messages.emplace_back(std::move(role), r.value());
        } else {
            r.fail("command must be one of \"from\", \"license\", \"template\", \"system\", \"adapter\", "
                   "\"parameter\", or \"message\"");
        }
    }
    if (!has_from || m.from.empty()) throw ModelfileError("no FROM line");
    return m;
}

nlohmann::json parameters_to_json(const std::vector<std::pair<std::string, std::string>>& parameters) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [name, value] : parameters) {
        const auto type = option_types().find(name);
        if (type == option_types().end()) throw ModelfileError("unknown parameter '" + name + "'");
        auto invalid = [&, &name = name, &value = value](const char* kind) {
            return ModelfileError("parameter '" + name + "': '" + value + "' is not " + kind);
        };
        switch (type->second) {
            case OptionType::Integer: {
                int64_t v = 0;
                const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
                if (ec != std::errc() || end != value.data() + value.size()) throw invalid("an integer");
                out[name] = v;
                break;
            }
            case OptionType::Float: {
                size_t used = 0;
                double v = 0;
                try {
                    v = std::stod(value, &used);
                } catch (const std::exception&) {
                    throw invalid("a number");
                }
                if (used != value.size()) throw invalid("a number");
                out[name] = v;
                break;
            }
            case OptionType::Boolean:
                if (value != "true" && value != "false") throw invalid("true or false");
                out[name] = value == "true";
                break;
            case OptionType::StringList:
                out[name].push_back(value);
                break;
        }
    }
    return out;
}

}  // namespace rockllm
