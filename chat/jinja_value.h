// Values of the Jinja engine, with Python's semantics where chat templates rely on them: truthiness,
// str() of each type, == across int and float, lists and dicts shared by reference (a namespace
// changed inside a loop is changed outside it), dicts keeping insertion order.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace rockllm::jinja {

// A template error; the message names the line and what went wrong.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct Value;
using List = std::vector<Value>;
using Dict = std::vector<std::pair<std::string, Value>>;  // insertion order, string keys

struct CallArgs {
    std::vector<Value> positional;
    std::vector<std::pair<std::string, Value>> keyword;
};
using Function = std::function<Value(CallArgs&)>;

struct Value {
    enum class Kind { Undefined, None, Bool, Int, Float, String, List, Dict, Function, Namespace };

    Kind kind = Kind::Undefined;
    bool boolean = false;
    int64_t integer = 0;
    double number = 0;
    std::string string;
    std::shared_ptr<List> list;
    std::shared_ptr<Dict> dict;  // also a namespace's attributes
    std::shared_ptr<Function> function;

    Value() = default;
    static Value none();
    static Value from(bool b);
    static Value from(int64_t i);
    static Value from(double d);
    static Value from(std::string s);
    static Value from(const char* s) { return from(std::string(s)); }
    static Value from_list(List items = {});
    static Value from_dict(Dict items = {});
    static Value from_function(Function f);
    static Value new_namespace(Dict items = {});
    static Value from_json(const nlohmann::ordered_json& j);

    bool is_undefined() const { return kind == Kind::Undefined; }
    bool is_none() const { return kind == Kind::None; }
    bool is_string() const { return kind == Kind::String; }
    bool is_number() const { return kind == Kind::Int || kind == Kind::Float || kind == Kind::Bool; }
    bool is_list() const { return kind == Kind::List; }
    bool is_dict() const { return kind == Kind::Dict || kind == Kind::Namespace; }

    bool truthy() const;
    double as_double() const;
    // A dict member or namespace attribute, undefined when absent.
    Value member(const std::string& key) const;
    void set_member(const std::string& key, Value v);
    bool has_member(const std::string& key) const;

    // Python's str(): what {{ value }} prints.
    std::string str() const;
    // Python's repr(): how values print inside lists and dicts.
    std::string repr() const;
    // json.dumps(value, ensure_ascii=False, indent=indent) with Python's separators.
    std::string to_json(int indent = -1, int depth = 0) const;

    const char* type_name() const;
};

bool equal(const Value& a, const Value& b);
// <, for numbers and strings; Error for anything else.
bool less(const Value& a, const Value& b);

}  // namespace rockllm::jinja
