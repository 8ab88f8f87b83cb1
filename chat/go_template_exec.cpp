// Executing a parsed Go template over JSON data, with Go's truth, comparison and printing rules.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "go_template.h"
#include "go_template_ast.h"

namespace rockllm::gotmpl {

// Ordered: objects print their members in the order they were built, as Go prints a struct.
using json = nlohmann::ordered_json;

namespace {

constexpr size_t kMaxOutput = 64 << 20;  // a template's output is a prompt: anything larger is an attack

// Go's truth: false, 0, nil, and empty strings, arrays and maps are false.
bool truthy(const json& v) {
    switch (v.type()) {
        case json::value_t::null: return false;
        case json::value_t::boolean: return v.get<bool>();
        case json::value_t::number_integer: return v.get<int64_t>() != 0;
        case json::value_t::number_unsigned: return v.get<uint64_t>() != 0;
        case json::value_t::number_float: return v.get<double>() != 0;
        case json::value_t::string: return !v.get_ref<const std::string&>().empty();
        case json::value_t::array:
        case json::value_t::object: return !v.empty();
        default: return true;
    }
}

// JSON as Go's encoding/json writes it: compact, with <, > and & (and U+2028, U+2029) escaped,
// so that a template printing an object gives what Ollama's json.Marshal gives.
std::string go_json(const json& v) {
    const std::string dumped = v.dump(-1, ' ', false, json::error_handler_t::replace);
    std::string out;
    out.reserve(dumped.size());
    for (size_t i = 0; i < dumped.size(); ++i) {
        const char c = dumped[i];
        if (c == '<') out += "\\u003c";
        else if (c == '>') out += "\\u003e";
        else if (c == '&') out += "\\u0026";
        else if (c == '\xE2' && i + 2 < dumped.size() && dumped[i + 1] == '\x80' && (dumped[i + 2] == '\xA8' || dumped[i + 2] == '\xA9')) {
            out += dumped[i + 2] == '\xA8' ? "\\u2028" : "\\u2029";
            i += 2;
        } else {
            out += c;
        }
    }
    return out;
}

// How a value prints: strings as they are, numbers as Go prints them, objects and arrays as JSON.
std::string to_text(const json& v) {
    switch (v.type()) {
        case json::value_t::null: return "<no value>";
        case json::value_t::string: return v.get<std::string>();
        case json::value_t::boolean: return v.get<bool>() ? "true" : "false";
        case json::value_t::number_float: {
            const double d = v.get<double>();
            if (std::isinf(d)) return d > 0 ? "+Inf" : "-Inf";
            if (std::isnan(d)) return "NaN";
            return v.dump();
        }
        default: return go_json(v);
    }
}

std::string snake_case(const std::string& name) {
    std::string out;
    for (size_t i = 0; i < name.size(); ++i) {
        const char c = name[i];
        if (std::isupper(static_cast<unsigned char>(c))) {
            const bool after_lower = i > 0 && std::islower(static_cast<unsigned char>(name[i - 1]));
            const bool before_lower = i > 0 && i + 1 < name.size() && std::islower(static_cast<unsigned char>(name[i + 1])) &&
                                      std::isupper(static_cast<unsigned char>(name[i - 1]));
            if (after_lower || before_lower) out += '_';
            out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        } else {
            out += c;
        }
    }
    return out;
}

json field_of(const json& value, const std::string& name) {
    if (value.is_null()) return nullptr;
    if (!value.is_object()) throw TemplateError("can't evaluate field " + name + " in a value of type " + value.type_name());
    if (auto it = value.find(name); it != value.end()) return *it;
    std::string lowered = name;
    lowered[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(lowered[0])));
    if (auto it = value.find(lowered); it != value.end()) return *it;
    if (auto it = value.find(snake_case(name)); it != value.end()) return *it;
    return nullptr;  // missingkey=zero
}

bool is_number(const json& v) { return v.is_number(); }

// Go's eq/lt on basic values; numbers compare by value whatever their JSON kind.
int compare(const json& a, const json& b, const char* function) {
    if (is_number(a) && is_number(b)) {
        const double x = a.get<double>(), y = b.get<double>();
        return x < y ? -1 : x > y ? 1 : 0;
    }
    if (a.is_string() && b.is_string()) return a.get_ref<const std::string&>().compare(b.get_ref<const std::string&>());
    if (a.is_boolean() && b.is_boolean() && std::string(function) == "eq") return a == b ? 0 : 1;
    if (a.is_null() || b.is_null()) {
        if (std::string(function) == "eq") return a.is_null() && b.is_null() ? 0 : 1;
    }
    throw TemplateError(std::string("error calling ") + function + ": incompatible types for comparison");
}

std::string html_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '&': out += "&amp;"; break;
            case '"': out += "&#34;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    }
    return out;
}

std::string js_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '\\': out += "\\\\"; break;
            case '\'': out += "\\'"; break;
            case '"': out += "\\\""; break;
            case '<': out += "\\u003C"; break;
            case '>': out += "\\u003E"; break;
            case '&': out += "\\u0026"; break;
            case '=': out += "\\u003D"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default: out += c;
        }
    }
    return out;
}

std::string url_escape(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out += static_cast<char>(c);
        else if (c == ' ') out += '+';
        else {
            char buffer[4];
            std::snprintf(buffer, sizeof buffer, "%%%02X", c);
            out += buffer;
        }
    }
    return out;
}

// fmt.Sprint: operands are joined with a space when neither side is a string.
std::string sprint(const std::vector<json>& args) {
    std::string out;
    for (size_t i = 0; i < args.size(); ++i) {
        if (i > 0 && !args[i].is_string() && !args[i - 1].is_string()) out += ' ';
        out += to_text(args[i]);
    }
    return out;
}

// fmt.Sprintf for the verbs templates use: %s %v %d %q %f %g %e %x %c %t %%, with flags, width, precision.
std::string sprintf(const std::string& format, const std::vector<json>& args) {
    std::string out;
    size_t next = 0;
    for (size_t i = 0; i < format.size(); ++i) {
        if (format[i] != '%') {
            out += format[i];
            continue;
        }
        size_t j = i + 1;
        while (j < format.size() && std::string("+-# 0").find(format[j]) != std::string::npos) ++j;
        while (j < format.size() && (std::isdigit(static_cast<unsigned char>(format[j])) || format[j] == '.')) ++j;
        if (j >= format.size()) {
            out += "%!(NOVERB)";
            break;
        }
        const char verb = format[j];
        const std::string spec = format.substr(i, j - i);  // "%" plus flags, width, precision
        i = j;
        if (verb == '%') {
            out += '%';
            continue;
        }
        if (next >= args.size()) {
            out += std::string("%!") + verb + "(MISSING)";
            continue;
        }
        const json& a = args[next++];
        char buffer[512];
        switch (verb) {
            case 'd':
                if (!a.is_number()) {
                    out += "%!d(" + to_text(a) + ")";
                    break;
                }
                std::snprintf(buffer, sizeof buffer, (spec + "lld").c_str(), static_cast<long long>(a.get<double>()));
                out += buffer;
                break;
            case 'f': case 'g': case 'e': case 'F': case 'G': case 'E':
                if (!a.is_number()) {
                    out += std::string("%!") + verb + "(" + to_text(a) + ")";
                    break;
                }
                std::snprintf(buffer, sizeof buffer, (spec + verb).c_str(), a.get<double>());
                out += buffer;
                break;
            case 'x': case 'X':
                if (a.is_number_integer()) {
                    std::snprintf(buffer, sizeof buffer, (spec + "ll" + verb).c_str(), static_cast<long long>(a.get<int64_t>()));
                    out += buffer;
                } else {
                    for (unsigned char c : to_text(a)) {
                        std::snprintf(buffer, sizeof buffer, verb == 'x' ? "%02x" : "%02X", c);
                        out += buffer;
                    }
                }
                break;
            case 'c':
                out += static_cast<char>(a.is_number() ? a.get<int64_t>() : '?');
                break;
            case 'q':
                out += json(a.is_string() ? a.get<std::string>() : to_text(a)).dump(-1, ' ', false, json::error_handler_t::replace);
                break;
            case 's': case 'v': case 't': {
                const std::string text = to_text(a);
                if (spec.size() > 1) {  // width/precision on a string
                    std::snprintf(buffer, sizeof buffer, (spec + "s").c_str(), text.c_str());
                    out += text.size() < sizeof buffer - 1 ? std::string(buffer) : text;
                } else {
                    out += text;
                }
                break;
            }
            default: out += std::string("%!") + verb + "(" + to_text(a) + ")";
        }
    }
    if (next < args.size()) {
        out += "%!(EXTRA ";
        for (size_t k = next; k < args.size(); ++k) out += (k > next ? ", " : "") + to_text(args[k]);
        out += ")";
    }
    return out;
}

std::string date(int days_ago) {
    const std::time_t now = std::time(nullptr) - days_ago * 86400;
    std::tm tm{};
    localtime_r(&now, &tm);
    char buffer[16];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%d", &tm);
    return buffer;
}

enum class Flow { Normal, Break, Continue, Stop };

class Executor {
public:
    Executor(const json& root, bool stop_after_response) : root_(root), stop_after_response_(stop_after_response) {
        variables_.push_back({"$", root});
    }

    std::string run(const Node& node) {
        exec(node, root_);
        return std::move(out_);
    }

private:
    Flow exec(const Node& node, const json& dot) {
        switch (node.kind) {
            case Node::Kind::List:
                for (const auto& child : node.children) {
                    const Flow f = exec(*child, dot);
                    if (f != Flow::Normal) return f;
                }
                return Flow::Normal;
            case Node::Kind::Text:
                emit(node.text);
                return Flow::Normal;
            case Node::Kind::Action: {
                const json value = eval_pipeline(node.pipeline, dot);
                if (node.pipeline.variables.empty()) emit(to_text(value));
                if (stop_after_response_ && prints_response(node.pipeline)) return Flow::Stop;
                return Flow::Normal;
            }
            case Node::Kind::If:
            case Node::Kind::With: {
                const size_t mark = variables_.size();
                const json value = eval_pipeline(node.pipeline, dot);
                Flow f = Flow::Normal;
                if (truthy(value)) f = exec(*node.body, node.kind == Node::Kind::With ? value : dot);
                else if (node.otherwise) f = exec(*node.otherwise, dot);
                variables_.resize(mark);
                return f;
            }
            case Node::Kind::Range: return exec_range(node, dot);
            case Node::Kind::Break: return Flow::Break;
            case Node::Kind::Continue: return Flow::Continue;
        }
        return Flow::Normal;
    }

    Flow exec_range(const Node& node, const json& dot) {
        const size_t mark = variables_.size();
        Pipeline pipeline = node.pipeline;
        const std::vector<std::string> names = pipeline.variables;
        pipeline.variables.clear();  // the range variables take each element, not the whole value
        const json value = eval_pipeline(pipeline, dot);
        Flow result = Flow::Normal;
        auto iterate = [&](const json& key, const json& element) {
            const size_t inner = variables_.size();
            if (names.size() == 1) variables_.push_back({names[0], element});
            if (names.size() == 2) {
                variables_.push_back({names[0], key});
                variables_.push_back({names[1], element});
            }
            const Flow f = exec(*node.body, element);
            variables_.resize(inner);
            return f;
        };
        bool any = false;
        if (value.is_array()) {
            for (size_t i = 0; i < value.size(); ++i) {
                any = true;
                const Flow f = iterate(json(i), value[i]);
                if (f == Flow::Break) break;
                if (f == Flow::Stop) {
                    result = Flow::Stop;
                    break;
                }
            }
        } else if (value.is_object()) {
            for (const auto& [k, v] : value.items()) {  // sorted keys, as Go ranges over maps
                any = true;
                const Flow f = iterate(json(k), v);
                if (f == Flow::Break) break;
                if (f == Flow::Stop) {
                    result = Flow::Stop;
                    break;
                }
            }
        } else if (value.is_number_integer() || value.is_number_unsigned()) {
            for (int64_t i = 0; i < value.get<int64_t>() && i < 1000000; ++i) {
                any = true;
                const Flow f = iterate(json(i), json(i));
                if (f == Flow::Break) break;
                if (f == Flow::Stop) {
                    result = Flow::Stop;
                    break;
                }
            }
        } else if (!value.is_null()) {
            throw TemplateError(where(node.pipeline) + "range can't iterate over " + to_text(value));
        }
        if (!any && node.otherwise) result = exec(*node.otherwise, dot);
        variables_.resize(mark);
        return result;
    }

    static bool prints_response(const Pipeline& p) {
        for (const Command& c : p.commands)
            for (const Operand& o : c.args)
                if (std::find(o.fields.begin(), o.fields.end(), "Response") != o.fields.end()) return true;
        return false;
    }

    static std::string where(const Pipeline& p) { return "template: " + std::to_string(p.line) + ":" + std::to_string(p.column) + ": "; }

    void emit(const std::string& text) {
        out_ += text;
        if (out_.size() > kMaxOutput) throw TemplateError("template output exceeds " + std::to_string(kMaxOutput >> 20) + " MiB");
    }

    json eval_pipeline(const Pipeline& p, const json& dot) {
        json value;
        bool have = false;
        for (const Command& c : p.commands) {
            value = eval_command(c, dot, have ? &value : nullptr, p);
            have = true;
        }
        if (!p.variables.empty()) {
            if (p.declares) {
                variables_.push_back({p.variables[0], value});
            } else {
                json* target = lookup(p.variables[0], p);
                *target = value;
            }
        }
        return value;
    }

    json eval_command(const Command& c, const json& dot, const json* piped, const Pipeline& p) {
        const Operand& first = c.args.front();
        if (first.kind == Operand::Kind::Function && first.fields.empty()) {
            return call(first.name, c, dot, piped, p);
        }
        if (c.args.size() > 1 || piped) throw TemplateError(where(p) + "can't give arguments to a non-function value");
        return eval_operand(first, dot, p);
    }

    json eval_operand(const Operand& o, const json& dot, const Pipeline& p) {
        json value;
        switch (o.kind) {
            case Operand::Kind::Dot: value = dot; break;
            case Operand::Kind::Field: value = dot; break;
            case Operand::Kind::Variable: value = *lookup(o.name, p); break;
            case Operand::Kind::Literal: value = o.literal; break;
            case Operand::Kind::Parenthesised: value = eval_pipeline(*o.nested, dot); break;
            case Operand::Kind::Function: {
                Command c;
                c.args.push_back(o);
                c.args.back().fields.clear();
                value = call(o.name, c, dot, nullptr, p);
                break;
            }
        }
        for (const std::string& f : o.fields) {
            try {
                value = field_of(value, f);
            } catch (const TemplateError& e) {
                throw TemplateError(where(p) + e.what());
            }
        }
        return value;
    }

    json* lookup(const std::string& name, const Pipeline& p) {
        for (auto it = variables_.rbegin(); it != variables_.rend(); ++it)
            if (it->first == name) return &it->second;
        throw TemplateError(where(p) + "undefined variable \"" + name + "\"");
    }

    json call(const std::string& name, const Command& c, const json& dot, const json* piped, const Pipeline& p) {
        // and/or evaluate lazily, as Go's do.
        if (name == "and" || name == "or") {
            json last;
            const size_t n = c.args.size() - 1 + (piped ? 1 : 0);
            if (n == 0) throw TemplateError(where(p) + "wrong number of args for " + name + ": want at least 1 got 0");
            for (size_t i = 1; i <= n; ++i) {
                last = i < c.args.size() ? eval_operand(c.args[i], dot, p) : *piped;
                if (truthy(last) != (name == "and")) return last;
            }
            return last;
        }
        std::vector<json> args;
        for (size_t i = 1; i < c.args.size(); ++i) args.push_back(eval_operand(c.args[i], dot, p));
        if (piped) args.push_back(*piped);
        auto want = [&](size_t n) {
            if (args.size() != n)
                throw TemplateError(where(p) + "wrong number of args for " + name + ": want " + std::to_string(n) + " got " + std::to_string(args.size()));
        };
        try {
            if (name == "not") {
                want(1);
                return !truthy(args[0]);
            }
            if (name == "len") {
                want(1);
                if (args[0].is_string()) return args[0].get_ref<const std::string&>().size();
                if (args[0].is_array() || args[0].is_object()) return args[0].size();
                if (args[0].is_null()) return 0;
                throw TemplateError("len of " + std::string(args[0].type_name()));
            }
            if (name == "index") {
                if (args.empty()) want(1);
                json v = args[0];
                for (size_t i = 1; i < args.size(); ++i) {
                    if (v.is_array() && args[i].is_number_integer()) {
                        const int64_t k = args[i].get<int64_t>();
                        if (k < 0 || k >= static_cast<int64_t>(v.size())) throw TemplateError("index out of range: " + std::to_string(k));
                        v = v[static_cast<size_t>(k)];
                    } else if (v.is_object() && args[i].is_string()) {
                        auto it = v.find(args[i].get<std::string>());
                        v = it == v.end() ? json() : *it;
                    } else if (v.is_null()) {
                        return nullptr;
                    } else {
                        throw TemplateError("can't index item of type " + std::string(v.type_name()));
                    }
                }
                return v;
            }
            if (name == "slice") {
                if (args.empty()) want(1);
                const json& v = args[0];
                const int64_t size = v.is_string() ? static_cast<int64_t>(v.get_ref<const std::string&>().size()) : static_cast<int64_t>(v.size());
                const int64_t from = args.size() > 1 ? args[1].get<int64_t>() : 0;
                const int64_t to = args.size() > 2 ? args[2].get<int64_t>() : size;
                if (from < 0 || to < from || to > size) throw TemplateError("slice: index out of range");
                if (v.is_string()) return v.get<std::string>().substr(static_cast<size_t>(from), static_cast<size_t>(to - from));
                if (!v.is_array()) throw TemplateError("can't slice item of type " + std::string(v.type_name()));
                return json(std::vector<json>(v.begin() + from, v.begin() + to));
            }
            if (name == "eq") {
                if (args.size() < 2) throw TemplateError("missing argument for comparison");
                for (size_t i = 1; i < args.size(); ++i)
                    if (compare(args[0], args[i], "eq") == 0) return true;
                return false;
            }
            if (name == "ne") {
                want(2);
                return compare(args[0], args[1], "eq") != 0;
            }
            if (name == "lt" || name == "le" || name == "gt" || name == "ge") {
                want(2);
                const int r = compare(args[0], args[1], name.c_str());
                return name == "lt" ? r < 0 : name == "le" ? r <= 0 : name == "gt" ? r > 0 : r >= 0;
            }
            if (name == "print") return sprint(args);
            if (name == "println") {
                std::string out;
                for (size_t i = 0; i < args.size(); ++i) out += (i ? " " : "") + to_text(args[i]);
                return out + "\n";
            }
            if (name == "printf") {
                if (args.empty() || !args[0].is_string()) throw TemplateError("printf needs a format string");
                return sprintf(args[0].get<std::string>(), std::vector<json>(args.begin() + 1, args.end()));
            }
            if (name == "html") return html_escape(sprint(args));
            if (name == "js") return js_escape(sprint(args));
            if (name == "urlquery") return url_escape(sprint(args));
            if (name == "json") {
                want(1);
                return go_json(args[0]);
            }
            if (name == "currentDate") return date(0);
            if (name == "yesterdayDate") return date(1);
            if (name == "toTypeScriptType") {
                want(1);
                const json& t = args[0].is_object() ? field_of(args[0], "type") : args[0];
                if (t.is_array()) {
                    std::string out;
                    for (const json& x : t) out += (out.empty() ? "" : " | ") + to_text(x);
                    return out;
                }
                const std::string s = to_text(t);
                return s == "integer" ? "number" : s == "array" ? "any[]" : s == "object" ? "Record<string, any>" : s;
            }
        } catch (const TemplateError& e) {
            const std::string what = e.what();
            if (what.rfind("template: ", 0) == 0) throw;
            throw TemplateError(where(p) + "error calling " + name + ": " + what);
        } catch (const json::exception& e) {
            throw TemplateError(where(p) + "error calling " + name + ": " + e.what());
        }
        throw TemplateError(where(p) + "function \"" + name + "\" not defined");
    }

    const json& root_;
    bool stop_after_response_;
    std::vector<std::pair<std::string, json>> variables_;
    std::string out_;
};

bool mentions(const Node& node, std::string_view field) {
    auto in_pipeline = [&](const Pipeline& p, auto& self) -> bool {
        for (const Command& c : p.commands)
            for (const Operand& o : c.args) {
                if (std::find(o.fields.begin(), o.fields.end(), field) != o.fields.end()) return true;
                if (o.nested && self(*o.nested, self)) return true;
            }
        return false;
    };
    if (node.kind != Node::Kind::List && node.kind != Node::Kind::Text && in_pipeline(node.pipeline, in_pipeline)) return true;
    for (const auto& child : node.children)
        if (mentions(*child, field)) return true;
    return (node.body && mentions(*node.body, field)) || (node.otherwise && mentions(*node.otherwise, field));
}

}  // namespace

std::string Template::execute(const json& data) const { return Executor(data, false).run(*root_); }

std::string Template::execute_until_response(const json& data) const { return Executor(data, true).run(*root_); }

bool Template::references(std::string_view field) const { return mentions(*root_, field); }

}  // namespace rockllm::gotmpl
