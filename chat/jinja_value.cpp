#include "jinja_value.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace rockllm::jinja {

namespace {

// Python's repr of a float: the shortest digits that read back the same, in fixed notation for
// exponents -4..15 and scientific notation otherwise.
std::string python_float(double d) {
    if (std::isnan(d)) return "nan";
    if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
    if (d == 0) return std::signbit(d) ? "-0.0" : "0.0";
    char buf[64];
    int precision = 1;
    for (; precision <= 17; ++precision) {
        std::snprintf(buf, sizeof buf, "%.*e", precision - 1, d);
        if (std::strtod(buf, nullptr) == d) break;
    }
    // buf: [-]d.ddde[+-]XX
    std::string s(buf);
    const bool negative = s[0] == '-';
    if (negative) s.erase(0, 1);
    const size_t e = s.find('e');
    const int exponent = std::atoi(s.c_str() + e + 1);
    std::string digits = s.substr(0, e);
    digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
    while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
    std::string out;
    if (exponent >= -4 && exponent < 16) {
        if (exponent < 0) {
            out = "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
        } else if (static_cast<size_t>(exponent) + 1 >= digits.size()) {
            out = digits + std::string(static_cast<size_t>(exponent) + 1 - digits.size(), '0') + ".0";
        } else {
            out = digits.substr(0, static_cast<size_t>(exponent) + 1) + "." + digits.substr(static_cast<size_t>(exponent) + 1);
        }
    } else {
        out = digits.substr(0, 1);
        if (digits.size() > 1) out.append(".").append(digits.substr(1));
        char exp[16];
        std::snprintf(exp, sizeof exp, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
        out += exp;
    }
    return negative ? "-" + out : out;
}

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            default:
                if (c < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", c);
                    out += buf;
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
    return out + "\"";
}

// Python's repr of a str: single quotes unless the text has one and no double quote.
std::string python_string_repr(const std::string& s) {
    const bool double_quotes = s.find('\'') != std::string::npos && s.find('"') == std::string::npos;
    const char quote = double_quotes ? '"' : '\'';
    std::string out(1, quote);
    for (unsigned char c : s) {
        if (c == '\\') out += "\\\\";
        else if (c == static_cast<unsigned char>(quote)) out.append("\\").append(1, quote);
        else if (c == '\n') out += "\\n";
        else if (c == '\r') out += "\\r";
        else if (c == '\t') out += "\\t";
        else if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else out += static_cast<char>(c);
    }
    out += quote;
    return out;
}

}  // namespace

namespace {

Value of_kind(Value::Kind kind) {
    Value v;
    v.kind = kind;
    return v;
}

}  // namespace

Value Value::none() { return of_kind(Kind::None); }
Value Value::from(bool b) {
    Value v = of_kind(Kind::Bool);
    v.boolean = b;
    return v;
}
Value Value::from(int64_t i) {
    Value v = of_kind(Kind::Int);
    v.integer = i;
    return v;
}
Value Value::from(double d) {
    Value v = of_kind(Kind::Float);
    v.number = d;
    return v;
}
Value Value::from(std::string s) {
    Value v = of_kind(Kind::String);
    v.string = std::move(s);
    return v;
}
Value Value::from_list(List items) {
    Value v = of_kind(Kind::List);
    v.list = std::make_shared<List>(std::move(items));
    return v;
}
Value Value::from_dict(Dict items) {
    Value v = of_kind(Kind::Dict);
    v.dict = std::make_shared<Dict>(std::move(items));
    return v;
}
Value Value::from_function(Function f) {
    Value v = of_kind(Kind::Function);
    v.function = std::make_shared<Function>(std::move(f));
    return v;
}
Value Value::new_namespace(Dict items) {
    Value v = from_dict(std::move(items));
    v.kind = Kind::Namespace;
    return v;
}

Value Value::from_json(const nlohmann::ordered_json& j) {
    switch (j.type()) {
        case nlohmann::ordered_json::value_t::null: return none();
        case nlohmann::ordered_json::value_t::boolean: return from(j.get<bool>());
        case nlohmann::ordered_json::value_t::number_integer: return from(j.get<int64_t>());
        case nlohmann::ordered_json::value_t::number_unsigned: return from(static_cast<int64_t>(j.get<uint64_t>()));
        case nlohmann::ordered_json::value_t::number_float: return from(j.get<double>());
        case nlohmann::ordered_json::value_t::string: return from(j.get<std::string>());
        case nlohmann::ordered_json::value_t::array: {
            List items;
            for (const auto& item : j) items.push_back(from_json(item));
            return from_list(std::move(items));
        }
        case nlohmann::ordered_json::value_t::object: {
            Dict items;
            for (const auto& [k, v] : j.items()) items.emplace_back(k, from_json(v));
            return from_dict(std::move(items));
        }
        default: return Value();
    }
}

bool Value::truthy() const {
    switch (kind) {
        case Kind::Undefined:
        case Kind::None: return false;
        case Kind::Bool: return boolean;
        case Kind::Int: return integer != 0;
        case Kind::Float: return number != 0;
        case Kind::String: return !string.empty();
        case Kind::List: return !list->empty();
        case Kind::Dict: return !dict->empty();
        case Kind::Function:
        case Kind::Namespace: return true;
    }
    return false;
}

double Value::as_double() const {
    if (kind == Kind::Int) return static_cast<double>(integer);
    if (kind == Kind::Float) return number;
    if (kind == Kind::Bool) return boolean ? 1 : 0;
    throw Error(std::string("expected a number, not ") + type_name());
}

Value Value::member(const std::string& key) const {
    if (!is_dict()) return Value();
    for (const auto& [k, v] : *dict)
        if (k == key) return v;
    return Value();
}

bool Value::has_member(const std::string& key) const {
    if (!is_dict()) return false;
    for (const auto& [k, v] : *dict)
        if (k == key) return true;
    return false;
}

void Value::set_member(const std::string& key, Value v) {
    if (!is_dict()) throw Error(std::string("cannot set an attribute of ") + type_name());
    for (auto& [k, existing] : *dict)
        if (k == key) {
            existing = std::move(v);
            return;
        }
    dict->emplace_back(key, std::move(v));
}

std::string Value::str() const {
    switch (kind) {
        case Kind::Undefined: return "";
        case Kind::String: return string;
        default: return repr();
    }
}

std::string Value::repr() const {
    switch (kind) {
        case Kind::Undefined: return "";
        case Kind::None: return "None";
        case Kind::Bool: return boolean ? "True" : "False";
        case Kind::Int: return std::to_string(integer);
        case Kind::Float: return python_float(number);
        case Kind::String: return python_string_repr(string);
        case Kind::List: {
            std::string out = "[";
            for (size_t i = 0; i < list->size(); ++i) out += (i ? ", " : "") + (*list)[i].repr();
            return out + "]";
        }
        case Kind::Dict: {
            std::string out = "{";
            for (size_t i = 0; i < dict->size(); ++i)
                out += (i ? ", " : "") + python_string_repr((*dict)[i].first) + ": " + (*dict)[i].second.repr();
            return out + "}";
        }
        case Kind::Function: return "<function>";
        case Kind::Namespace: return "<Namespace>";
    }
    return "";
}

std::string Value::to_json(int indent, int depth) const {
    const auto newline = [&](int level) {
        std::string out;
        if (indent >= 0) out.append(1, '\n').append(static_cast<size_t>(indent * level), ' ');
        return out;
    };
    const std::string comma = indent < 0 ? ", " : ",";
    switch (kind) {
        case Kind::Undefined:
        case Kind::None: return "null";
        case Kind::Bool: return boolean ? "true" : "false";
        case Kind::Int: return std::to_string(integer);
        case Kind::Float: return std::isfinite(number) ? python_float(number) : (std::isnan(number) ? "NaN" : number > 0 ? "Infinity" : "-Infinity");
        case Kind::String: return json_string(string);
        case Kind::List: {
            if (list->empty()) return "[]";
            std::string out = "[";
            for (size_t i = 0; i < list->size(); ++i) out += (i ? comma : "") + newline(depth + 1) + (*list)[i].to_json(indent, depth + 1);
            return out + newline(depth) + "]";
        }
        case Kind::Dict:
        case Kind::Namespace: {
            if (dict->empty()) return "{}";
            std::string out = "{";
            for (size_t i = 0; i < dict->size(); ++i)
                out += (i ? comma : "") + newline(depth + 1) + json_string((*dict)[i].first) + ": " + (*dict)[i].second.to_json(indent, depth + 1);
            return out + newline(depth) + "}";
        }
        case Kind::Function: throw Error("a function cannot be written as JSON");
    }
    return "null";
}

const char* Value::type_name() const {
    switch (kind) {
        case Kind::Undefined: return "undefined";
        case Kind::None: return "none";
        case Kind::Bool: return "boolean";
        case Kind::Int: return "integer";
        case Kind::Float: return "float";
        case Kind::String: return "string";
        case Kind::List: return "list";
        case Kind::Dict: return "dict";
        case Kind::Function: return "function";
        case Kind::Namespace: return "namespace";
    }
    return "value";
}

bool equal(const Value& a, const Value& b) {
    if (a.is_number() && b.is_number()) {
        if (a.kind != Value::Kind::Float && b.kind != Value::Kind::Float)
            return (a.kind == Value::Kind::Bool ? a.boolean : a.integer) == (b.kind == Value::Kind::Bool ? b.boolean : b.integer);
        return a.as_double() == b.as_double();
    }
    if (a.kind != b.kind) return false;
    switch (a.kind) {
        case Value::Kind::Undefined:
        case Value::Kind::None: return true;
        case Value::Kind::String: return a.string == b.string;
        case Value::Kind::List:
            if (a.list->size() != b.list->size()) return false;
            for (size_t i = 0; i < a.list->size(); ++i)
                if (!equal((*a.list)[i], (*b.list)[i])) return false;
            return true;
        case Value::Kind::Dict:
            if (a.dict->size() != b.dict->size()) return false;
            for (const auto& [k, v] : *a.dict)
                if (!b.has_member(k) || !equal(v, b.member(k))) return false;
            return true;
        default: return a.dict == b.dict && a.function == b.function;
    }
}

bool less(const Value& a, const Value& b) {
    if (a.is_number() && b.is_number()) return a.as_double() < b.as_double();
    if (a.is_string() && b.is_string()) return a.string < b.string;
    throw Error(std::string("cannot compare ") + a.type_name() + " and " + b.type_name());
}

}  // namespace rockllm::jinja
