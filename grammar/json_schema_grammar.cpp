#include "json_schema_grammar.h"

#include "grammar/pattern_grammar.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <string>

namespace rockllm {

namespace {

using ordered_json = nlohmann::ordered_json;
using Seq = GrammarSequence;

constexpr int kMaxDepth = 64;
constexpr int64_t kMaxBoundedRepeat = 1000;  // minItems/maxItems/minLength/maxLength beyond this are refused
constexpr int32_t kMaxSchemaRules = 200000;

const std::set<std::string> kAnnotations = {"title", "description", "default", "examples", "$schema", "$id",
                                            "$comment", "deprecated", "readOnly", "writeOnly", "$defs", "definitions"};
const std::set<std::string> kSupported = {"type",      "properties", "required",         "additionalProperties", "items",
                                          "minItems",  "maxItems",   "minLength",        "maxLength",            "enum",
                                          "const",     "anyOf",      "oneOf",            "$ref",                 "minimum",
                                          "maximum",   "exclusiveMinimum", "exclusiveMaximum", "format",         "pattern"};
// The largest integer the grammar writes: 16 digits, as its numbers have.
constexpr int64_t kMaxInteger = 9999999999999999;

class SchemaCompiler {
public:
    SchemaCompiler(const ordered_json& root, std::vector<std::string>* ignored) : root_(root), ignored_(ignored) {
        ws_ = define_whitespace();
        string_ = define_string(0, -1, "string");
        number_ = define_number(true);
        integer_ = define_number(false);
        boolean_ = g_.add("boolean", {Grammar::literal("true"), Grammar::literal("false")});
        null_ = g_.add("null", {Grammar::literal("null")});
        // The generic value refers to the generic object and array, which refer back to it.
        value_ = g_.declare("value");
        object_ = define_generic_object(value_, "object");
        array_ = define_generic_array();
        g_.define(value_, {{ref(object_)}, {ref(array_)}, {ref(string_)}, {ref(number_)}, {ref(boolean_)}, {ref(null_)}});
    }

    Grammar compile_format() {
        int32_t body;
        if (root_.is_string()) {
            if (root_.get<std::string>() != "json") throw SchemaError("invalid format: " + root_.dump() + "; expected \"json\" or a JSON schema object");
            body = object_;
        } else if (root_.is_object()) {
            body = compile(root_, "root-value", "", 0);
        } else {
            throw SchemaError("invalid format: " + root_.dump() + "; expected \"json\" or a JSON schema object");
        }
        // The answer is the value: nothing before it, nothing after it.
        g_.set_root(g_.add("root", {{ref(body)}}));
        try {
            g_.finalize();
        } catch (const std::invalid_argument& e) {
            throw SchemaError(std::string("the schema cannot be followed: ") + e.what());
        }
        return std::move(g_);
    }

private:
    static GrammarSymbol ref(int32_t rule) { return Grammar::ref(rule); }

    int32_t add(const std::string& name, std::vector<Seq> alternatives) {
        if (g_.rule_count() >= kMaxSchemaRules) throw SchemaError("the schema is too large (more than " + std::to_string(kMaxSchemaRules) + " grammar rules)");
        return g_.add(name, std::move(alternatives));
    }

    // item repeated min..max times (max < 0: unbounded), each copy after the first preceded by sep.
    int32_t repeat(const std::string& name, const Seq& item, int64_t min, int64_t max, const Seq& sep = {}) {
        if (max >= 0 && min > max) throw SchemaError(name + ": the minimum is larger than the maximum");
        if (min > kMaxBoundedRepeat || max > kMaxBoundedRepeat)
            throw SchemaError(name + ": bounds above " + std::to_string(kMaxBoundedRepeat) + " are not supported");
        if (max == 0) return add(name, {{}});
        // more(k): the copies after the k-th. The last one is a loop (unbounded) or the end (bounded).
        const int64_t last = max < 0 ? std::max<int64_t>(min, 1) : max;
        int32_t more;
        if (max < 0) {
            more = g_.declare(name + "-more");
            g_.define(more, {sep + item + Seq{ref(more)}, {}});
        } else {
            more = add(name + "-done", {{}});
        }
        for (int64_t k = last - 1; k >= 1; --k) {
            std::vector<Seq> alternatives = {sep + item + Seq{ref(more)}};
            if (k >= min) alternatives.push_back({});
            more = add(name + "-" + std::to_string(k), alternatives);
        }
        std::vector<Seq> alternatives = {item + Seq{ref(more)}};
        if (min == 0) alternatives.push_back({});
        return add(name, alternatives);
    }

    int32_t define_whitespace() {
        const int32_t indent = repeat("indent", {Grammar::byte_set(" \t")}, 0, 20);
        return add("ws", {{}, Grammar::literal(" "), {Grammar::byte('\n'), ref(indent)}});
    }

    int32_t char_rule() {
        if (char_ >= 0) return char_;
        const int32_t hex = add("hex", {{Grammar::byte_set("0-9a-fA-F")}});
        const int32_t escape = add("escape", {{Grammar::byte_set("\"\\/bfnrt")},
                                              {Grammar::byte('u'), ref(hex), ref(hex), ref(hex), ref(hex)}});
        const GrammarSymbol tail = Grammar::byte_set("\x80-\xBF");
        // One character: printable ASCII but quote and backslash, an escape, or a UTF-8 sequence.
        char_ = add("char", {{Grammar::byte_set("\x20-\x21\x23-\x5B\x5D-\x7F")},
                             {Grammar::byte('\\'), ref(escape)},
                             {Grammar::byte_set("\xC2-\xDF"), tail},
                             {Grammar::byte_set("\xE0-\xEF"), tail, tail},
                             {Grammar::byte_set("\xF0-\xF4"), tail, tail, tail}});
        return char_;
    }

    int32_t define_string(int64_t min, int64_t max, const std::string& name) {
        const int32_t chars = repeat(name + "-chars", {ref(char_rule())}, min, max);
        return add(name, {{Grammar::byte('"'), ref(chars), Grammar::byte('"')}});
    }

    int32_t define_number(bool fractional) {
        const std::string name = fractional ? "number" : "integer";
        const int32_t digits = repeat(name + "-digits", {Grammar::byte_set("0-9")}, 0, 15);
        const int32_t integral = add(name + "-integral", {Grammar::literal("0"), {Grammar::byte_set("1-9"), ref(digits)}});
        if (!fractional) return add(name, {{ref(integral)}, {Grammar::byte('-'), ref(integral)}});
        const int32_t fraction_digits = repeat("fraction-digits", {Grammar::byte_set("0-9")}, 1, 16);
        const int32_t fraction = add("fraction", {{}, {Grammar::byte('.'), ref(fraction_digits)}});
        // Two exponent digits: with 16 integral digits the largest is ~1e115, so every number fits
        // a double and parsers that refuse overflowing numbers (nlohmann, Go's) read the answer.
        const int32_t exponent_digits = repeat("exponent-digits", {Grammar::byte_set("0-9")}, 1, 2);
        const int32_t exponent = add("exponent", {{}, {Grammar::byte_set("eE"), Grammar::byte_set("+-"), ref(exponent_digits)},
                                                  {Grammar::byte_set("eE"), ref(exponent_digits)}});
        const int32_t sign = add("sign", {{}, Grammar::literal("-")});
        unsigned_number_ = add("unsigned-number", {{ref(integral), ref(fraction), ref(exponent)}});
        return add(name, {{ref(sign), ref(unsigned_number_)}});
    }

    // {"key": value, ...} with any string keys.
    int32_t define_generic_object(int32_t member_value, const std::string& name) {
        const Seq member = {ref(string_), ref(ws_), Grammar::byte(':'), ref(ws_), ref(member_value), ref(ws_)};
        const int32_t members = repeat(name + "-members", member, 0, -1, {Grammar::byte(','), ref(ws_)});
        return add(name, {{Grammar::byte('{'), ref(ws_), ref(members), Grammar::byte('}')}});
    }

    int32_t define_generic_array() {
        const int32_t items = repeat("array-items", {ref(value_), ref(ws_)}, 0, -1, {Grammar::byte(','), ref(ws_)});
        return add("array", {{Grammar::byte('['), ref(ws_), ref(items), Grammar::byte(']')}});
    }

    static int64_t bound(const ordered_json& schema, const char* key, int64_t fallback, const std::string& where) {
        const auto it = schema.find(key);
        if (it == schema.end()) return fallback;
        if (!it->is_number_integer() || it->get<int64_t>() < 0)
            throw SchemaError(std::string("\"") + key + "\" must be a non-negative integer (at " + where + ")");
        return it->get<int64_t>();
    }

    static std::string at(const std::string& where) { return where.empty() ? "/" : where; }

    int32_t compile(const ordered_json& schema, const std::string& name, const std::string& where, int depth) {
        if (depth > kMaxDepth) throw SchemaError("the schema nests deeper than " + std::to_string(kMaxDepth) + " levels");
        if (schema.is_boolean()) {
            if (schema.get<bool>()) return value_;
            throw SchemaError("the schema at " + at(where) + " is false: no value can match it");
        }
        if (!schema.is_object()) throw SchemaError("the schema at " + at(where) + " is not an object");
        for (const auto& [key, value] : schema.items())
            if (!kAnnotations.count(key) && !kSupported.count(key)) ignore("\"" + key + "\"", where);

        if (const auto it = schema.find("$ref"); it != schema.end()) return reference(*it, where, depth);
        if (const auto it = schema.find("const"); it != schema.end()) return add(name, {Grammar::literal(it->dump())});
        if (const auto it = schema.find("enum"); it != schema.end()) {
            if (!it->is_array() || it->empty()) throw SchemaError("\"enum\" must be a non-empty array (at " + at(where) + ")");
            std::vector<Seq> alternatives;
            for (const auto& v : *it) alternatives.push_back(Grammar::literal(v.dump()));
            return add(name, alternatives);
        }
        for (const char* key : {"anyOf", "oneOf"})
            if (const auto it = schema.find(key); it != schema.end()) {
                if (!it->is_array() || it->empty())
                    throw SchemaError(std::string("\"") + key + "\" must be a non-empty array (at " + at(where) + ")");
                std::vector<Seq> alternatives;
                for (size_t i = 0; i < it->size(); ++i)
                    alternatives.push_back({ref(compile((*it)[i], name + "-" + std::to_string(i),
                                                        where + "/" + key + "/" + std::to_string(i), depth + 1))});
                return add(name, alternatives);
            }

        const auto type_it = schema.find("type");
        if (type_it != schema.end() && type_it->is_array()) {
            if (type_it->empty()) throw SchemaError("\"type\" is an empty list (at " + at(where) + ")");
            std::vector<Seq> alternatives;
            for (const auto& t : *type_it) {
                if (!t.is_string()) throw SchemaError("\"type\" entries must be strings (at " + at(where) + ")");
                alternatives.push_back({ref(typed(schema, t.get<std::string>(), name + "-" + t.get<std::string>(), where, depth))});
            }
            return add(name, alternatives);
        }
        std::string type;
        if (type_it != schema.end()) {
            if (!type_it->is_string()) throw SchemaError("\"type\" must be a string or a list of strings (at " + at(where) + ")");
            type = type_it->get<std::string>();
        } else if (schema.contains("properties") || schema.contains("additionalProperties") || schema.contains("required")) {
            type = "object";
        } else if (schema.contains("items") || schema.contains("minItems") || schema.contains("maxItems")) {
            type = "array";
        } else if (schema.contains("minLength") || schema.contains("maxLength")) {
            type = "string";
        } else {
            return value_;  // {} allows any value
        }
        return typed(schema, type, name, where, depth);
    }

    int32_t typed(const ordered_json& schema, const std::string& type, const std::string& name, const std::string& where, int depth) {
        if (type == "string") {
            if (const auto it = schema.find("format"); it != schema.end()) {
                if (const int32_t formatted = string_format(*it, name, where); formatted >= 0) return formatted;
            }
            if (const auto it = schema.find("pattern"); it != schema.end()) {
                if (const int32_t matched = string_pattern(*it, name, where); matched >= 0) return matched;
            }
            const int64_t min = bound(schema, "minLength", 0, at(where));
            const int64_t max = bound(schema, "maxLength", -1, at(where));
            return min == 0 && max < 0 ? string_ : define_string(min, max, name);
        }
        if (type == "number") return bounded_number(schema, name, where);
        if (type == "integer") return bounded_integer(schema, name, where);
        if (type == "boolean") return boolean_;
        if (type == "null") return null_;
        if (type == "object") return object(schema, name, where, depth);
        if (type == "array") return array(schema, name, where, depth);
        throw SchemaError("unknown type \"" + type + "\" (at " + at(where) + ")");
    }

    void ignore(const std::string& what, const std::string& where) {
        if (ignored_) ignored_->push_back(what + " (at " + at(where) + ")");
    }

    // A numeric bound of the schema, or nullopt; exclusive bounds in either draft's form.
    struct Bounds {
        std::optional<double> min, max;
        bool min_exclusive = false, max_exclusive = false;
    };
    static Bounds bounds(const ordered_json& schema, const std::string& where) {
        Bounds b;
        const auto number = [&](const char* key) -> std::optional<double> {
            const auto it = schema.find(key);
            if (it == schema.end() || it->is_boolean()) return std::nullopt;
            if (!it->is_number()) throw SchemaError(std::string("\"") + key + "\" must be a number (at " + at(where) + ")");
            return it->get<double>();
        };
        b.min = number("minimum");
        b.max = number("maximum");
        if (const auto it = schema.find("exclusiveMinimum"); it != schema.end()) {
            if (it->is_boolean()) b.min_exclusive = it->get<bool>();  // draft 4: qualifies "minimum"
            else if (const auto v = number("exclusiveMinimum"); v && (!b.min || *v >= *b.min)) b.min = v, b.min_exclusive = true;
        }
        if (const auto it = schema.find("exclusiveMaximum"); it != schema.end()) {
            if (it->is_boolean()) b.max_exclusive = it->get<bool>();
            else if (const auto v = number("exclusiveMaximum"); v && (!b.max || *v <= *b.max)) b.max = v, b.max_exclusive = true;
        }
        return b;
    }

    int32_t bounded_integer(const ordered_json& schema, const std::string& name, const std::string& where) {
        const Bounds b = bounds(schema, where);
        if (!b.min && !b.max) return integer_;
        // The integers within the bounds, clamped to what the grammar writes.
        int64_t lo = -kMaxInteger, hi = kMaxInteger;
        if (b.min) {
            const double v = b.min_exclusive ? std::floor(*b.min) + 1 : std::ceil(*b.min);
            lo = v > static_cast<double>(kMaxInteger) ? kMaxInteger + 1 : std::max<double>(v, -static_cast<double>(kMaxInteger));
        }
        if (b.max) {
            const double v = b.max_exclusive ? std::ceil(*b.max) - 1 : std::floor(*b.max);
            hi = v < -static_cast<double>(kMaxInteger) ? -kMaxInteger - 1 : std::min<double>(v, static_cast<double>(kMaxInteger));
        }
        if (lo > hi) throw SchemaError("no integer lies within the bounds (at " + at(where) + ")");
        return integer_range(lo, hi, name);
    }

    // Numbers: a lower bound of zero or more forbids the sign; other bounds are not enforced.
    int32_t bounded_number(const ordered_json& schema, const std::string& name, const std::string& where) {
        const Bounds b = bounds(schema, where);
        if (b.max) ignore("\"maximum\" of a number", where);
        if (!b.min) return number_;
        if (*b.min > 0 || (*b.min == 0 && b.min_exclusive)) ignore("\"minimum\" of a number beyond its sign", where);
        if (*b.min < 0) {
            ignore("\"minimum\" of a number", where);
            return number_;
        }
        return add(name, {{ref(unsigned_number_)}});
    }

    // Exactly the integers lo..hi (|lo|, |hi| <= kMaxInteger), without leading zeros or "-0".
    int32_t integer_range(int64_t lo, int64_t hi, const std::string& name) {
        std::vector<Seq> alternatives;
        if (hi >= 0) for (Seq& a : natural_range(std::max<int64_t>(lo, 0), hi, name)) alternatives.push_back(std::move(a));
        if (lo < 0)
            for (Seq& a : natural_range(std::max<int64_t>(-hi, 1), -lo, name + "-neg"))
                alternatives.push_back(Seq{Grammar::byte('-')} + a);
        return add(name, alternatives);
    }

    // Non-negative integers a..b, one alternative per digit count.
    std::vector<Seq> natural_range(int64_t a, int64_t b, const std::string& name) {
        std::vector<Seq> out;
        int64_t first = 1;  // the smallest number with d digits (0 for one digit)
        for (int d = 1; d <= 16 && a <= b; ++d, first *= 10) {
            const int64_t last = first * 10 - 1;
            const int64_t lo = std::max(a, d == 1 ? 0 : first), hi = std::min(b, last);
            if (lo > hi) continue;
            out.push_back({ref(digits_between(std::to_string(lo), std::to_string(hi), name + "-" + std::to_string(d)))});
        }
        return out;
    }

    // Digit strings of one length between lo and hi (leading zeros allowed), digit by digit.
    int32_t digits_between(const std::string& lo, const std::string& hi, const std::string& name) {
        const size_t n = lo.size();
        if (lo == std::string(n, '0') && hi == std::string(n, '9')) return any_digits(n);
        const auto set = [](char from, char to) { return Grammar::byte_set(std::string{from, '-', to}); };
        if (n == 1) return add(name, {{set(lo[0], hi[0])}});
        if (lo[0] == hi[0]) return add(name, {{Grammar::byte(static_cast<unsigned char>(lo[0])), ref(digits_between(lo.substr(1), hi.substr(1), name + "-" + lo[0]))}});
        std::vector<Seq> alternatives;
        alternatives.push_back({Grammar::byte(static_cast<unsigned char>(lo[0])),
                                ref(digits_between(lo.substr(1), std::string(n - 1, '9'), name + "-lo"))});
        if (hi[0] - lo[0] > 1)
            alternatives.push_back({set(static_cast<char>(lo[0] + 1), static_cast<char>(hi[0] - 1)), ref(any_digits(n - 1))});
        alternatives.push_back({Grammar::byte(static_cast<unsigned char>(hi[0])),
                                ref(digits_between(std::string(n - 1, '0'), hi.substr(1), name + "-hi"))});
        return add(name, alternatives);
    }

    int32_t any_digits(size_t n) {
        if (const auto it = any_digits_.find(n); it != any_digits_.end()) return it->second;
        Seq digits(n, Grammar::byte_set("0-9"));
        return any_digits_[n] = add("digits-" + std::to_string(n), {digits});
    }

    // A string of a known "format", or -1 (with a note) for a format the grammar does not know.
    int32_t string_format(const ordered_json& format, const std::string& name, const std::string& where) {
        if (!format.is_string()) throw SchemaError("\"format\" must be a string (at " + at(where) + ")");
        const std::string f = format.get<std::string>();
        const auto quoted = [&](const Seq& body) { return add(name, {Seq{Grammar::byte('"')} + body + Seq{Grammar::byte('"')}}); };
        if (f == "date") return quoted({ref(date_rule())});
        if (f == "time") return quoted({ref(time_rule())});
        if (f == "date-time") return quoted({ref(date_rule()), Grammar::byte('T'), ref(time_rule())});
        if (f == "uuid") {
            const auto hex = [&](size_t n) { return Seq(n, Grammar::byte_set("0-9a-fA-F")); };
            return quoted(hex(8) + Grammar::literal("-") + hex(4) + Grammar::literal("-") + hex(4) + Grammar::literal("-") + hex(4) +
                          Grammar::literal("-") + hex(12));
        }
        if (f == "email") {
            const int32_t local = repeat(name + "-local", {Grammar::byte_set("A-Za-z0-9._%+-")}, 1, 64);
            const int32_t label = repeat(name + "-label", {Grammar::byte_set("A-Za-z0-9-")}, 1, 63);
            const int32_t more = repeat(name + "-labels", {Grammar::byte('.'), ref(label)}, 1, 8);
            return quoted({ref(local), Grammar::byte('@'), ref(label), ref(more)});
        }
        if (f == "ipv4") {
            const int32_t octet = integer_range(0, 255, name + "-octet");
            return quoted({ref(octet), Grammar::byte('.'), ref(octet), Grammar::byte('.'), ref(octet), Grammar::byte('.'), ref(octet)});
        }
        ignore("\"format\": \"" + f + "\"", where);
        return -1;
    }

    // A string matching a "pattern", or -1 (with a note) for syntax outside the supported subset.
    int32_t string_pattern(const ordered_json& pattern, const std::string& name, const std::string& where) {
        if (!pattern.is_string()) throw SchemaError("\"pattern\" must be a string (at " + at(where) + ")");
        try {
            const int32_t body = add_pattern_rules(g_, pattern.get<std::string>(), char_rule(), name + "-pattern");
            return add(name, {{Grammar::byte('"'), ref(body), Grammar::byte('"')}});
        } catch (const PatternUnsupported& e) {
            ignore("\"pattern\" (" + std::string(e.what()) + ")", where);
            return -1;
        }
    }

    int32_t date_rule() {
        if (date_ >= 0) return date_;
        const int32_t month = add("month", {{Grammar::byte('0'), Grammar::byte_set("1-9")}, {Grammar::byte('1'), Grammar::byte_set("0-2")}});
        const int32_t day = add("day", {{Grammar::byte('0'), Grammar::byte_set("1-9")}, {Grammar::byte_set("12"), Grammar::byte_set("0-9")},
                                        {Grammar::byte('3'), Grammar::byte_set("01")}});
        return date_ = add("date", {Seq(4, Grammar::byte_set("0-9")) + Seq{Grammar::byte('-'), ref(month), Grammar::byte('-'), ref(day)}});
    }

    int32_t time_rule() {
        if (time_ >= 0) return time_;
        const int32_t hour = add("hour", {{Grammar::byte_set("01"), Grammar::byte_set("0-9")}, {Grammar::byte('2'), Grammar::byte_set("0-3")}});
        const Seq minute = {Grammar::byte_set("0-5"), Grammar::byte_set("0-9")};
        const int32_t fraction = repeat("time-fraction", {Grammar::byte_set("0-9")}, 1, 9);
        const int32_t seconds_fraction = add("time-fraction-part", {{}, {Grammar::byte('.'), ref(fraction)}});
        const int32_t offset = add("time-offset", {Grammar::literal("Z"), Seq{Grammar::byte_set("+-"), ref(hour), Grammar::byte(':')} + minute});
        return time_ = add("time", {Seq{ref(hour), Grammar::byte(':')} + minute + Seq{Grammar::byte(':')} + minute +
                                    Seq{ref(seconds_fraction), ref(offset)}});
    }

    int32_t object(const ordered_json& schema, const std::string& name, const std::string& where, int depth) {
        const auto props_it = schema.find("properties");
        const auto extra_it = schema.find("additionalProperties");
        if (props_it != schema.end() && !props_it->is_object()) throw SchemaError("\"properties\" must be an object (at " + at(where) + ")");
        if (extra_it != schema.end() && !extra_it->is_boolean() && !extra_it->is_object())
            throw SchemaError("\"additionalProperties\" must be a boolean or a schema (at " + at(where) + ")");
        std::set<std::string> required;
        if (const auto it = schema.find("required"); it != schema.end()) {
            if (!it->is_array()) throw SchemaError("\"required\" must be a list of names (at " + at(where) + ")");
            for (const auto& r : *it) {
                if (!r.is_string()) throw SchemaError("\"required\" must be a list of names (at " + at(where) + ")");
                if (props_it == schema.end() || !props_it->contains(r.get<std::string>()))
                    throw SchemaError("required property \"" + r.get<std::string>() + "\" is not in \"properties\" (at " + at(where) + ")");
                required.insert(r.get<std::string>());
            }
        }
        // Further members: a schema for their values, or none at all.
        int32_t extra_value = -1;
        if (extra_it != schema.end())
            extra_value = extra_it->is_boolean() ? (extra_it->get<bool>() ? value_ : -1)
                                                 : compile(*extra_it, name + "-additional", where + "/additionalProperties", depth + 1);
        if (props_it == schema.end() || props_it->empty()) {
            if (extra_it == schema.end()) return object_;
            if (extra_value < 0) return add(name, {{Grammar::byte('{'), ref(ws_), Grammar::byte('}')}});
            return define_generic_object(extra_value, name);
        }

        struct Member {
            std::string key;
            int32_t value;
            bool required;
        };
        std::vector<Member> members;
        for (const auto& [key, sub] : props_it->items())
            members.push_back({key, compile(sub, name + "-" + sanitize(key), where + "/properties/" + key, depth + 1), required.count(key) > 0});

        const Seq comma = {Grammar::byte(','), ref(ws_)};
        // rest[i][first]: the members from i on; `first` when none has been written yet (no comma).
        std::vector<std::array<int32_t, 2>> rest(members.size() + 1);
        for (int first = 0; first < 2; ++first) {
            std::vector<Seq> tail = {{}};
            if (extra_value >= 0) {
                const int32_t extra = define_generic_object_members(extra_value, name + "-extra");
                tail = {{}, (first ? Seq{} : comma) + Seq{ref(extra)}};
            }
            rest[members.size()][static_cast<size_t>(first)] = add(name + "-end" + (first ? "-first" : ""), tail);
        }
        for (size_t i = members.size(); i-- > 0;)
            for (int first = 0; first < 2; ++first) {
                const Member& m = members[i];
                const Seq member = Grammar::literal(ordered_json(m.key).dump()) + Seq{ref(ws_), Grammar::byte(':'), ref(ws_), ref(m.value), ref(ws_)};
                std::vector<Seq> alternatives = {(first ? Seq{} : comma) + member + Seq{ref(rest[i + 1][0])}};
                if (!m.required) alternatives.push_back({ref(rest[i + 1][static_cast<size_t>(first)])});
                rest[i][static_cast<size_t>(first)] = add(name + "-" + std::to_string(i) + (first ? "-first" : ""), alternatives);
            }
        return add(name, {{Grammar::byte('{'), ref(ws_), ref(rest[0][1]), Grammar::byte('}')}});
    }

    // One or more "key": value members with any keys (after the declared ones).
    int32_t define_generic_object_members(int32_t member_value, const std::string& name) {
        const Seq member = {ref(string_), ref(ws_), Grammar::byte(':'), ref(ws_), ref(member_value), ref(ws_)};
        return repeat(name, member, 1, -1, {Grammar::byte(','), ref(ws_)});
    }

    int32_t array(const ordered_json& schema, const std::string& name, const std::string& where, int depth) {
        int32_t item = value_;
        if (const auto it = schema.find("items"); it != schema.end()) item = compile(*it, name + "-item", where + "/items", depth + 1);
        const int64_t min = bound(schema, "minItems", 0, at(where));
        const int64_t max = bound(schema, "maxItems", -1, at(where));
        if (item == value_ && min == 0 && max < 0) return array_;
        const int32_t items = repeat(name + "-items", {ref(item), ref(ws_)}, min, max, {Grammar::byte(','), ref(ws_)});
        return add(name, {{Grammar::byte('['), ref(ws_), ref(items), Grammar::byte(']')}});
    }

    int32_t reference(const ordered_json& target, const std::string& where, int depth) {
        if (!target.is_string()) throw SchemaError("\"$ref\" must be a string (at " + at(where) + ")");
        const std::string path = target.get<std::string>();
        if (const auto it = refs_.find(path); it != refs_.end()) return it->second;
        if (path.rfind('#', 0) != 0) throw SchemaError("only references within the schema (\"#/...\") are supported, not " + path);
        const ordered_json* node = &root_;
        try {
            if (path != "#") node = &root_.at(ordered_json::json_pointer(path.substr(1)));
        } catch (const std::exception&) {
            throw SchemaError("\"$ref\" " + path + " does not point into the schema (at " + at(where) + ")");
        }
        // Declared before it is compiled, so that a recursive schema refers to itself.
        const int32_t rule = g_.declare("ref-" + sanitize(path));
        refs_[path] = rule;
        g_.define(rule, {{ref(compile(*node, "def-" + sanitize(path), path.substr(1), depth + 1))}});
        return rule;
    }

    static std::string sanitize(const std::string& s) {
        std::string out;
        for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '-';
        return out.substr(0, 40);
    }

    const ordered_json& root_;
    std::vector<std::string>* ignored_;
    Grammar g_;
    std::map<size_t, int32_t> any_digits_;
    int32_t date_ = -1, time_ = -1, unsigned_number_ = -1;
    std::map<std::string, int32_t> refs_;
    int32_t ws_ = -1, string_ = -1, number_ = -1, integer_ = -1, boolean_ = -1, null_ = -1;
    int32_t value_ = -1, object_ = -1, array_ = -1, char_ = -1;
};

}  // namespace

Grammar grammar_for_format(const nlohmann::ordered_json& format, std::vector<std::string>* ignored) {
    return SchemaCompiler(format, ignored).compile_format();
}

}  // namespace rockllm
