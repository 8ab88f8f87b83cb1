#include "chat/jinja_builtins.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <climits>
#include <cmath>
#include <ctime>

#include "base/ascii.h"

namespace rockllm::jinja {

namespace {

constexpr int64_t kMaxRange = 100000;
constexpr size_t kMaxString = size_t{64} << 20;  // as the longest output: no builtin makes a longer string
constexpr int64_t kMaxIndent = 4096;

[[noreturn]] void fail(const std::string& message) { throw Error(message); }

// Called as a string grows, so that a hostile argument fails before it takes the memory.
void check_length(const std::string& s, const char* what) {
    if (s.size() > kMaxString) fail(std::string(what) + " makes a string longer than " + std::to_string(kMaxString >> 20) + " MiB");
}

// Python's int() of a float; one outside int64 (or NaN) has no value here.
int64_t int_of_double(double x) {
    if (!(x > -9.2233720368547758e18 && x < 9.2233720368547758e18)) fail("the number is too large for an integer");
    return static_cast<int64_t>(x);
}

std::string expect_string(const Value& v, const char* what) {
    if (!v.is_string()) fail(std::string(what) + " needs a string, not " + v.type_name());
    return v.string;
}

int64_t expect_int(const Value& v, const char* what) {
    if (v.kind == Value::Kind::Int) return v.integer;
    if (v.kind == Value::Kind::Bool) return v.boolean;
    fail(std::string(what) + " needs an integer, not " + v.type_name());
}

bool is_ws(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string strip(const std::string& s, const Value& chars, bool left, bool right) {
    const auto strip_char = [&](unsigned char c) { return chars.is_string() ? chars.string.find(static_cast<char>(c)) != std::string::npos : is_ws(c); };
    size_t begin = 0, end = s.size();
    if (left)
        while (begin < end && strip_char(static_cast<unsigned char>(s[begin]))) ++begin;
    if (right)
        while (end > begin && strip_char(static_cast<unsigned char>(s[end - 1]))) --end;
    return s.substr(begin, end - begin);
}

// Characters of a UTF-8 string (Python iterates code points).
std::vector<std::string> characters(const std::string& s) {
    std::vector<std::string> out;
    for (size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        size_t n = c < 0x80 ? 1 : c >> 5 == 6 ? 2 : c >> 4 == 14 ? 3 : c >> 3 == 30 ? 4 : 1;
        n = std::min(n, s.size() - i);
        out.push_back(s.substr(i, n));
        i += n;
    }
    return out;
}

std::string title_case(const std::string& s) {
    std::string out = s;
    bool start = true;
    for (char& c : out) {
        const auto u = static_cast<unsigned char>(c);
        if (std::isalpha(u)) {
            c = static_cast<char>(start ? std::toupper(u) : std::tolower(u));
            start = false;
        } else {
            start = u < 0x80;  // bytes of multi-byte characters count as letters, as near as this gets
        }
    }
    return out;
}

std::string upper(std::string s) {
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

std::string replace(const std::string& s, const std::string& from, const std::string& to, int64_t count) {
    if (from.empty()) return s;  // Python inserts between characters; no chat template does that
    std::string out;
    size_t pos = 0;
    int64_t done = 0;
    while (count < 0 || done < count) {
        const size_t hit = s.find(from, pos);
        if (hit == std::string::npos) break;
        out.append(s, pos, hit - pos).append(to);
        check_length(out, "replace");
        pos = hit + from.size();
        ++done;
    }
    return out.append(s, pos, std::string::npos);
}

Value split(const std::string& s, const Value& separator, int64_t max_split) {
    List parts;
    if (separator.is_undefined() || separator.is_none()) {
        size_t i = 0;
        while (true) {
            while (i < s.size() && is_ws(static_cast<unsigned char>(s[i]))) ++i;
            if (i >= s.size()) break;
            if (max_split >= 0 && static_cast<int64_t>(parts.size()) == max_split) {
                parts.push_back(Value::from(strip(s.substr(i), Value(), false, true)));
                break;
            }
            size_t j = i;
            while (j < s.size() && !is_ws(static_cast<unsigned char>(s[j]))) ++j;
            parts.push_back(Value::from(s.substr(i, j - i)));
            i = j;
        }
        return Value::from_list(std::move(parts));
    }
    const std::string sep = expect_string(separator, "split");
    if (sep.empty()) fail("split: empty separator");
    size_t pos = 0;
    while (max_split < 0 || static_cast<int64_t>(parts.size()) < max_split) {
        const size_t hit = s.find(sep, pos);
        if (hit == std::string::npos) break;
        parts.push_back(Value::from(s.substr(pos, hit - pos)));
        pos = hit + sep.size();
    }
    parts.push_back(Value::from(s.substr(pos)));
    return Value::from_list(std::move(parts));
}

bool starts_or_ends(const std::string& s, const Value& affix, bool start) {
    const auto one = [&](const Value& a) {
        const std::string x = expect_string(a, start ? "startswith" : "endswith");
        return x.size() <= s.size() && (start ? s.compare(0, x.size(), x) == 0 : s.compare(s.size() - x.size(), x.size(), x) == 0);
    };
    if (affix.is_list()) return std::any_of(affix.list->begin(), affix.list->end(), one);
    return one(affix);
}

int64_t length(const Value& v) {
    switch (v.kind) {
        case Value::Kind::String: return static_cast<int64_t>(characters(v.string).size());
        case Value::Kind::List: return static_cast<int64_t>(v.list->size());
        case Value::Kind::Dict:
        case Value::Kind::Namespace: return static_cast<int64_t>(v.dict->size());
        case Value::Kind::Undefined: return 0;
        default: fail(std::string("object of type ") + v.type_name() + " has no length");
    }
}

Value attribute_path(const Value& v, const std::string& path) {
    Value current = v;
    size_t pos = 0;
    while (pos <= path.size()) {
        const size_t dot = path.find('.', pos);
        const std::string part = path.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
        current = std::all_of(part.begin(), part.end(), ::isdigit) && !part.empty() ? get_item(current, Value::from(static_cast<int64_t>(std::stoll(part))))
                                                                                    : get_item(current, Value::from(part));
        if (dot == std::string::npos) break;
        pos = dot + 1;
    }
    return current;
}

// The arguments after the first `skip` positional ones.
CallArgs rest(const CallArgs& args, size_t skip) {
    CallArgs out;
    for (size_t i = skip; i < args.positional.size(); ++i) out.positional.push_back(args.positional[i]);
    out.keyword = args.keyword;
    return out;
}

Value bound(std::function<Value(CallArgs&)> f) { return Value::from_function(std::move(f)); }

Value string_method(const std::string& s, const std::string& name) {
    if (name == "strip" || name == "lstrip" || name == "rstrip")
        return bound([s, name](CallArgs& a) { return Value::from(strip(s, argument(a, 0, "chars"), name != "rstrip", name != "lstrip")); });
    if (name == "split") return bound([s](CallArgs& a) { return split(s, argument(a, 0, "sep"), argument(a, 1, "maxsplit", Value::from(int64_t{-1})).integer); });
    if (name == "startswith") return bound([s](CallArgs& a) { return Value::from(starts_or_ends(s, argument(a, 0, "prefix"), true)); });
    if (name == "endswith") return bound([s](CallArgs& a) { return Value::from(starts_or_ends(s, argument(a, 0, "suffix"), false)); });
    if (name == "upper") return bound([s](CallArgs&) { return Value::from(upper(s)); });
    if (name == "lower") return bound([s](CallArgs&) { return Value::from(ascii_lower(s)); });
    if (name == "title") return bound([s](CallArgs&) { return Value::from(title_case(s)); });
    if (name == "capitalize") return bound([s](CallArgs&) { return Value::from(s.empty() ? s : upper(s.substr(0, 1)) + ascii_lower(s.substr(1))); });
    if (name == "replace")
        return bound([s](CallArgs& a) {
            return Value::from(replace(s, expect_string(argument(a, 0, "old"), "replace"), expect_string(argument(a, 1, "new"), "replace"),
                                       argument(a, 2, "count", Value::from(int64_t{-1})).integer));
        });
    if (name == "find" || name == "rfind" || name == "index")
        return bound([s, name](CallArgs& a) {
            const std::string x = expect_string(argument(a, 0, "sub"), "find");
            const size_t hit = name == "rfind" ? s.rfind(x) : s.find(x);
            if (hit == std::string::npos && name == "index") fail("substring not found");
            return Value::from(hit == std::string::npos ? int64_t{-1} : static_cast<int64_t>(hit));
        });
    if (name == "count")
        return bound([s](CallArgs& a) {
            const std::string x = expect_string(argument(a, 0, "sub"), "count");
            int64_t n = 0;
            for (size_t p = x.empty() ? std::string::npos : s.find(x); p != std::string::npos; p = s.find(x, p + x.size())) ++n;
            return Value::from(n);
        });
    if (name == "join")
        return bound([s](CallArgs& a) {
            std::string out;
            const List items = iterate(argument(a, 0, "iterable"));
            for (size_t i = 0; i < items.size(); ++i) {
                out += (i ? s : "") + expect_string(items[i], "join");
                check_length(out, "join");
            }
            return Value::from(out);
        });
    if (name == "splitlines")
        return bound([s](CallArgs&) {
            List lines;
            size_t pos = 0;
            while (pos < s.size()) {
                const size_t nl = s.find('\n', pos);
                lines.push_back(Value::from(s.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos)));
                if (nl == std::string::npos) break;
                pos = nl + 1;
            }
            return Value::from_list(std::move(lines));
        });
    if (name == "isdigit" || name == "isalpha" || name == "isspace")
        return bound([s, name](CallArgs&) {
            const auto pred = name == "isdigit" ? ::isdigit : name == "isalpha" ? ::isalpha : ::isspace;
            return Value::from(!s.empty() && std::all_of(s.begin(), s.end(), [&](char c) { return pred(static_cast<unsigned char>(c)) != 0; }));
        });
    return Value();
}

Value dict_method(const Value& d, const std::string& name) {
    if (name == "items")
        return bound([d](CallArgs&) {
            List out;
            for (const auto& [k, v] : *d.dict) out.push_back(Value::from_list({Value::from(k), v}));
            return Value::from_list(std::move(out));
        });
    if (name == "keys")
        return bound([d](CallArgs&) {
            List out;
            for (const auto& [k, v] : *d.dict) out.push_back(Value::from(k));
            return Value::from_list(std::move(out));
        });
    if (name == "values")
        return bound([d](CallArgs&) {
            List out;
            for (const auto& [k, v] : *d.dict) out.push_back(v);
            return Value::from_list(std::move(out));
        });
    if (name == "get")
        return bound([d](CallArgs& a) {
            const Value key = argument(a, 0, "key");
            return key.is_string() && d.has_member(key.string) ? d.member(key.string) : argument(a, 1, "default", Value::none());
        });
    return Value();
}

Value list_method(const Value& l, const std::string& name) {
    if (name == "append")
        return bound([l](CallArgs& a) {
            l.list->push_back(argument(a, 0, "item"));
            return Value::none();
        });
    if (name == "pop")
        return bound([l](CallArgs& a) {
            if (l.list->empty()) fail("pop from an empty list");
            int64_t i = argument(a, 0, "index", Value::from(int64_t{-1})).integer;
            if (i < 0) i += static_cast<int64_t>(l.list->size());
            if (i < 0 || i >= static_cast<int64_t>(l.list->size())) fail("pop index out of range");
            Value v = (*l.list)[static_cast<size_t>(i)];
            l.list->erase(l.list->begin() + i);
            return v;
        });
    if (name == "index" || name == "count")
        return bound([l, name](CallArgs& a) {
            const Value x = argument(a, 0, "value");
            int64_t n = 0;
            for (size_t i = 0; i < l.list->size(); ++i)
                if (equal((*l.list)[i], x)) {
                    if (name == "index") return Value::from(static_cast<int64_t>(i));
                    ++n;
                }
            if (name == "index") fail("value is not in the list");
            return Value::from(n);
        });
    return Value();
}

Value filter_items(const Value& subject, CallArgs& args, bool keep, bool by_attribute) {
    List out;
    for (const Value& item : iterate(subject)) {
        bool pass;
        if (by_attribute) {
            const Value attr = attribute_path(item, expect_string(argument(args, 0, "attribute"), "selectattr"));
            if (args.positional.size() < 2) {
                pass = attr.truthy();
            } else {
                CallArgs test_args = rest(args, 2);
                pass = apply_test(expect_string(args.positional[1], "selectattr"), attr, test_args);
            }
        } else {
            if (args.positional.empty()) {
                pass = item.truthy();
            } else {
                CallArgs test_args = rest(args, 1);
                pass = apply_test(expect_string(args.positional[0], "select"), item, test_args);
            }
        }
        if (pass == keep) out.push_back(item);
    }
    return Value::from_list(std::move(out));
}

}  // namespace

Value argument(CallArgs& args, size_t position, const char* keyword, Value fallback) {
    for (const auto& [k, v] : args.keyword)
        if (k == keyword) return v;
    if (position < args.positional.size()) return args.positional[position];
    return fallback;
}

List iterate(const Value& v) {
    switch (v.kind) {
        case Value::Kind::Undefined: return {};
        case Value::Kind::List: return *v.list;
        case Value::Kind::Dict: {
            List keys;
            for (const auto& [k, x] : *v.dict) keys.push_back(Value::from(k));
            return keys;
        }
        case Value::Kind::String: {
            List chars;
            for (auto& c : characters(v.string)) chars.push_back(Value::from(std::move(c)));
            return chars;
        }
        default: fail(std::string("a ") + v.type_name() + " cannot be iterated");
    }
}

Value get_attribute(const Value& object, const std::string& name) {
    switch (object.kind) {
        case Value::Kind::Dict: {
            Value method = dict_method(object, name);
            return method.is_undefined() ? object.member(name) : method;
        }
        case Value::Kind::Namespace: return object.member(name);
        case Value::Kind::String: return string_method(object.string, name);
        case Value::Kind::List: return list_method(object, name);
        default: return Value();
    }
}

Value get_item(const Value& object, const Value& key) {
    if (object.is_dict()) return key.is_string() ? object.member(key.string) : Value();
    if ((object.is_list() || object.is_string()) && (key.kind == Value::Kind::Int || key.kind == Value::Kind::Bool)) {
        if (object.is_list()) {
            int64_t i = expect_int(key, "an index");
            const auto n = static_cast<int64_t>(object.list->size());
            if (i < 0) i += n;
            return i >= 0 && i < n ? (*object.list)[static_cast<size_t>(i)] : Value();
        }
        const auto chars = characters(object.string);
        int64_t i = expect_int(key, "an index");
        const auto n = static_cast<int64_t>(chars.size());
        if (i < 0) i += n;
        return i >= 0 && i < n ? Value::from(chars[static_cast<size_t>(i)]) : Value();
    }
    if (key.is_string()) return get_attribute(object, key.string);
    return Value();
}

Value get_slice(const Value& object, const Value& start_v, const Value& stop_v, const Value& step_v) {
    List items;
    const bool is_string = object.is_string();
    if (is_string) {
        for (auto& c : characters(object.string)) items.push_back(Value::from(std::move(c)));
    } else if (object.is_list()) {
        items = *object.list;
    } else {
        fail(std::string("a ") + object.type_name() + " cannot be sliced");
    }
    const auto n = static_cast<int64_t>(items.size());
    const int64_t step = step_v.is_undefined() || step_v.is_none() ? 1 : expect_int(step_v, "a slice step");
    if (step == 0) fail("a slice step cannot be zero");
    const auto bound_index = [&](const Value& v, int64_t fallback) {
        if (v.is_undefined() || v.is_none()) return fallback;
        int64_t i = expect_int(v, "a slice index");
        if (i < 0) i += n;
        return step > 0 ? std::clamp<int64_t>(i, 0, n) : std::clamp<int64_t>(i, -1, n - 1);
    };
    const int64_t start = bound_index(start_v, step > 0 ? 0 : n - 1);
    const int64_t stop = bound_index(stop_v, step > 0 ? n : -1);
    List out;
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) out.push_back(items[static_cast<size_t>(i)]);
    if (!is_string) return Value::from_list(std::move(out));
    std::string s;
    for (const Value& c : out) s += c.string;
    return Value::from(s);
}

Value apply_filter(const std::string& name, const Value& subject, CallArgs& args) {
    if (name == "trim") return Value::from(strip(subject.str(), argument(args, 0, "chars"), true, true));
    if (name == "lower") return Value::from(ascii_lower(subject.str()));
    if (name == "upper") return Value::from(upper(subject.str()));
    if (name == "title") return Value::from(title_case(subject.str()));
    if (name == "capitalize") {
        const std::string s = subject.str();
        return Value::from(s.empty() ? s : upper(s.substr(0, 1)) + ascii_lower(s.substr(1)));
    }
    if (name == "length" || name == "count") return Value::from(length(subject));
    if (name == "string") return Value::from(subject.str());
    if (name == "safe") return subject;
    if (name == "tojson") {
        const Value indent = argument(args, 0, "indent");
        if (indent.kind == Value::Kind::Int && (indent.integer < 0 || indent.integer > kMaxIndent))
            fail("tojson indent must be between 0 and " + std::to_string(kMaxIndent));
        return Value::from(subject.to_json(indent.kind == Value::Kind::Int ? static_cast<int>(indent.integer) : -1));
    }
    if (name == "default" || name == "d") {
        const bool boolean = argument(args, 1, "boolean", Value::from(false)).truthy();
        const bool use_default = boolean ? !subject.truthy() : subject.is_undefined();
        return use_default ? argument(args, 0, "default_value", Value::from("")) : subject;
    }
    if (name == "first" || name == "last") {
        const List items = iterate(subject);
        if (items.empty()) return Value();
        return name == "first" ? items.front() : items.back();
    }
    if (name == "join") {
        const std::string sep = argument(args, 0, "d", Value::from("")).str();
        const Value attribute = argument(args, 1, "attribute");
        std::string out;
        const List items = iterate(subject);
        for (size_t i = 0; i < items.size(); ++i) {
            out += (i ? sep : "") + (attribute.is_undefined() ? items[i] : attribute_path(items[i], attribute.str())).str();
            check_length(out, "join");
        }
        return Value::from(out);
    }
    if (name == "list") return Value::from_list(iterate(subject));
    if (name == "items") {
        if (!subject.is_dict()) fail("items needs a dict");
        CallArgs none;
        return (*dict_method(subject, "items").function)(none);
    }
    if (name == "int") {
        if (subject.kind == Value::Kind::Int) return subject;
        if (subject.is_number()) return Value::from(int_of_double(subject.as_double()));
        try {
            return Value::from(static_cast<int64_t>(std::stoll(subject.str())));
        } catch (const std::exception&) {
            return argument(args, 0, "default", Value::from(int64_t{0}));
        }
    }
    if (name == "float") {
        if (subject.is_number()) return Value::from(subject.as_double());
        try {
            return Value::from(std::stod(subject.str()));
        } catch (const std::exception&) {
            return argument(args, 0, "default", Value::from(0.0));
        }
    }
    if (name == "abs") {
        if (subject.kind == Value::Kind::Int) {
            if (subject.integer == INT64_MIN) fail("integer overflow in abs");
            return Value::from(subject.integer < 0 ? -subject.integer : subject.integer);
        }
        return Value::from(std::fabs(subject.as_double()));
    }
    if (name == "round") {
        const int64_t precision = argument(args, 0, "precision", Value::from(int64_t{0})).integer;
        const std::string method = argument(args, 1, "method", Value::from("common")).str();
        const double scale = std::pow(10.0, static_cast<double>(precision));
        const double x = subject.as_double() * scale;
        const double r = method == "floor" ? std::floor(x) : method == "ceil" ? std::ceil(x) : std::round(x);
        return Value::from(r / scale);
    }
    if (name == "replace")
        return Value::from(replace(subject.str(), argument(args, 0, "old").str(), argument(args, 1, "new").str(),
                                   argument(args, 2, "count", Value::from(int64_t{-1})).integer));
    if (name == "reverse") {
        if (subject.is_string()) {
            auto chars = characters(subject.string);
            std::string out;
            for (auto it = chars.rbegin(); it != chars.rend(); ++it) out += *it;
            return Value::from(out);
        }
        List items = iterate(subject);
        std::reverse(items.begin(), items.end());
        return Value::from_list(std::move(items));
    }
    if (name == "sort") {
        List items = iterate(subject);
        const bool reverse = argument(args, 0, "reverse", Value::from(false)).truthy();
        const Value attribute = argument(args, 2, "attribute");
        const auto key = [&](const Value& v) { return attribute.is_undefined() ? v : attribute_path(v, attribute.str()); };
        std::stable_sort(items.begin(), items.end(), [&](const Value& a, const Value& b) { return reverse ? less(key(b), key(a)) : less(key(a), key(b)); });
        return Value::from_list(std::move(items));
    }
    if (name == "unique") {
        List out;
        for (const Value& v : iterate(subject))
            if (std::none_of(out.begin(), out.end(), [&](const Value& o) { return equal(o, v); })) out.push_back(v);
        return Value::from_list(std::move(out));
    }
    if (name == "map") {
        List out;
        const Value attribute = argument(args, 99, "attribute");
        for (const Value& item : iterate(subject)) {
            if (!attribute.is_undefined()) {
                Value v = attribute_path(item, attribute.str());
                out.push_back(v.is_undefined() ? argument(args, 99, "default") : v);
            } else {
                if (args.positional.empty()) fail("map needs a filter name or attribute=");
                CallArgs filter_args = rest(args, 1);
                out.push_back(apply_filter(expect_string(args.positional[0], "map"), item, filter_args));
            }
        }
        return Value::from_list(std::move(out));
    }
    if (name == "select") return filter_items(subject, args, true, false);
    if (name == "reject") return filter_items(subject, args, false, false);
    if (name == "selectattr") return filter_items(subject, args, true, true);
    if (name == "rejectattr") return filter_items(subject, args, false, true);
    if (name == "indent") {
        const Value width_v = argument(args, 0, "width", Value::from(int64_t{4}));
        if (!width_v.is_string() && width_v.integer > kMaxIndent) fail("indent width is larger than " + std::to_string(kMaxIndent));
        const std::string pad = width_v.is_string() ? width_v.string : std::string(static_cast<size_t>(std::max<int64_t>(0, width_v.integer)), ' ');
        const bool first = argument(args, 1, "first", Value::from(false)).truthy();
        const bool blank = argument(args, 2, "blank", Value::from(false)).truthy();
        const std::string s = subject.str();
        std::string out;
        size_t pos = 0;
        bool first_line = true;
        while (true) {
            const size_t nl = s.find('\n', pos);
            const std::string line = s.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
            if ((first_line ? first : true) && (blank || !line.empty())) out += pad;
            out += line;
            check_length(out, "indent");
            if (nl == std::string::npos) break;
            out += '\n';
            pos = nl + 1;
            first_line = false;
        }
        return Value::from(out);
    }
    if (name == "sum") {
        const Value attribute = argument(args, 0, "attribute");
        Value total = argument(args, 1, "start", Value::from(int64_t{0}));
        for (const Value& item : iterate(subject)) {
            const Value v = attribute.is_undefined() ? item : attribute_path(item, attribute.str());
            int64_t sum = 0;
            if (total.kind == Value::Kind::Int && v.kind == Value::Kind::Int) {
                if (__builtin_add_overflow(total.integer, v.integer, &sum)) fail("integer overflow in sum");
                total = Value::from(sum);
            } else {
                total = Value::from(total.as_double() + v.as_double());
            }
        }
        return total;
    }
    if (name == "min" || name == "max") {
        const List items = iterate(subject);
        if (items.empty()) return Value();
        Value best = items.front();
        for (const Value& v : items)
            if (name == "min" ? less(v, best) : less(best, v)) best = v;
        return best;
    }
    if (name == "wordcount") return Value::from(static_cast<int64_t>(split(subject.str(), Value(), -1).list->size()));
    if (name == "dictsort") {
        if (!subject.is_dict()) fail("dictsort needs a dict");
        Dict items = *subject.dict;
        std::stable_sort(items.begin(), items.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        List out;
        for (auto& [k, v] : items) out.push_back(Value::from_list({Value::from(k), v}));
        return Value::from_list(std::move(out));
    }
    fail("unknown filter '" + name + "'");
}

bool apply_test(const std::string& name, const Value& v, CallArgs& args) {
    if (name == "defined") return !v.is_undefined();
    if (name == "undefined") return v.is_undefined();
    if (name == "none") return v.is_none();
    if (name == "string") return v.is_string();
    if (name == "number") return v.kind == Value::Kind::Int || v.kind == Value::Kind::Float;
    if (name == "integer") return v.kind == Value::Kind::Int;
    if (name == "float") return v.kind == Value::Kind::Float;
    if (name == "boolean") return v.kind == Value::Kind::Bool;
    if (name == "true") return v.kind == Value::Kind::Bool && v.boolean;
    if (name == "false") return v.kind == Value::Kind::Bool && !v.boolean;
    if (name == "mapping") return v.kind == Value::Kind::Dict;
    if (name == "iterable") return v.is_list() || v.is_string() || v.kind == Value::Kind::Dict;
    if (name == "sequence") return v.is_list() || v.is_string() || v.kind == Value::Kind::Dict;
    if (name == "callable") return v.kind == Value::Kind::Function;
    if (name == "odd") return expect_int(v, "odd") % 2 != 0;
    if (name == "even") return expect_int(v, "even") % 2 == 0;
    if (name == "divisibleby") {
        const int64_t d = expect_int(argument(args, 0, "num"), "divisibleby");
        return d != 0 && expect_int(v, "divisibleby") % d == 0;
    }
    if (name == "lower") return v.is_string() && ascii_lower(v.string) == v.string;
    if (name == "upper") return v.is_string() && upper(v.string) == v.string;
    const Value other = argument(args, 0, "other");
    if (name == "eq" || name == "equalto" || name == "==") return equal(v, other);
    if (name == "ne" || name == "!=") return !equal(v, other);
    if (name == "lt" || name == "lessthan" || name == "<") return less(v, other);
    if (name == "gt" || name == "greaterthan" || name == ">") return less(other, v);
    if (name == "le" || name == "<=") return !less(other, v);
    if (name == "ge" || name == ">=") return !less(v, other);
    if (name == "sameas") return equal(v, other) && v.kind == other.kind;
    if (name == "in") {
        const Value container = argument(args, 0, "seq");
        if (container.is_string() && v.is_string()) return container.string.find(v.string) != std::string::npos;
        if (container.is_dict()) return v.is_string() && container.has_member(v.string);
        for (const Value& item : iterate(container))
            if (equal(item, v)) return true;
        return false;
    }
    fail("unknown test '" + name + "'");
}

Value global_function(const std::string& name) {
    if (name == "range")
        return bound([](CallArgs& a) {
            int64_t start = 0, stop, step = 1;
            if (a.positional.size() == 1) {
                stop = expect_int(a.positional[0], "range");
            } else if (a.positional.size() >= 2) {
                start = expect_int(a.positional[0], "range");
                stop = expect_int(a.positional[1], "range");
                if (a.positional.size() > 2) step = expect_int(a.positional[2], "range");
            } else {
                fail("range needs an argument");
            }
            if (step == 0) fail("range step cannot be zero");
            List out;
            for (int64_t i = start; step > 0 ? i < stop : i > stop;) {
                if (static_cast<int64_t>(out.size()) >= kMaxRange) fail("range is longer than " + std::to_string(kMaxRange));
                out.push_back(Value::from(i));
                if (__builtin_add_overflow(i, step, &i)) break;  // past the end of int64: past stop
            }
            return Value::from_list(std::move(out));
        });
    if (name == "namespace" || name == "dict")
        return bound([name](CallArgs& a) {
            Dict items;
            for (const Value& p : a.positional)
                if (p.is_dict()) items.insert(items.end(), p.dict->begin(), p.dict->end());
            for (auto& [k, v] : a.keyword) items.emplace_back(k, v);
            return name == "namespace" ? Value::new_namespace(std::move(items)) : Value::from_dict(std::move(items));
        });
    if (name == "raise_exception") return bound([](CallArgs& a) -> Value { fail(argument(a, 0, "message").str()); });
    if (name == "strftime_now")
        return bound([](CallArgs& a) {
            const std::string format = expect_string(argument(a, 0, "format"), "strftime_now");
            const std::time_t now = std::time(nullptr);
            std::tm local{};
            localtime_r(&now, &local);
            char buf[256];
            const size_t n = std::strftime(buf, sizeof buf, format.c_str(), &local);
            return Value::from(std::string(buf, n));
        });
    return Value();
}

}  // namespace rockllm::jinja
