// Rendering: statements write to the output, expressions evaluate to values; scopes as Jinja has
// them (a for loop and a macro call have their own; if does not).
#include <climits>
#include <cmath>

#include "chat/jinja.h"
#include "chat/jinja_ast.h"
#include "chat/jinja_builtins.h"
#include "chat/jinja_parse.h"

namespace rockllm::jinja {

namespace {

constexpr int64_t kMaxSteps = 2'000'000;          // loop iterations and macro calls
constexpr int kMaxCallDepth = 64;
constexpr size_t kMaxOutput = size_t{64} << 20;   // bytes, also the longest string a value may hold
constexpr size_t kMaxListItems = 1'000'000;        // items a list built by an operator may hold

using Scope = std::vector<std::pair<std::string, Value>>;

class Interpreter {
public:
    explicit Interpreter(const nlohmann::ordered_json& variables) {
        scopes_.push_back(std::make_shared<Scope>());
        for (const char* name : {"range", "namespace", "dict", "raise_exception", "strftime_now"})
            scopes_.back()->emplace_back(name, global_function(name));
        if (variables.is_object())
            for (const auto& [k, v] : variables.items()) scopes_.back()->emplace_back(k, Value::from_json(v));
        scopes_.push_back(std::make_shared<Scope>());  // the template's own variables
    }

    std::string run(const Body& body) {
        std::string out;
        if (exec(body, out) != Flow::Normal) fail(0, "break or continue outside a loop");
        return out;
    }

private:
    enum class Flow { Normal, Break, Continue };

    [[noreturn]] static void fail(int line, const std::string& message) {
        throw Error(line > 0 ? "template error at line " + std::to_string(line) + ": " + message : "template error: " + message);
    }

    void step(int line) {
        if (++steps_ > kMaxSteps) fail(line, "the template runs too long");
    }

    Value lookup(const std::string& name) const {
        for (auto scope = scopes_.rbegin(); scope != scopes_.rend(); ++scope)
            for (auto it = (*scope)->rbegin(); it != (*scope)->rend(); ++it)
                if (it->first == name) return it->second;
        return Value();
    }

    void assign(const std::string& name, Value v) {
        Scope& scope = *scopes_.back();
        for (auto& [k, existing] : scope)
            if (k == name) {
                existing = std::move(v);
                return;
            }
        scope.emplace_back(name, std::move(v));
    }

    void assign_targets(const std::vector<std::string>& targets, const Value& v, int line) {
        if (targets.size() == 1) {
            assign(targets[0], v);
            return;
        }
        const List items = iterate(v);
        if (items.size() != targets.size())
            fail(line, "cannot unpack " + std::to_string(items.size()) + " values into " + std::to_string(targets.size()) + " names");
        for (size_t i = 0; i < targets.size(); ++i) assign(targets[i], items[i]);
    }

    static Value bounded_string(std::string text, int line) {
        if (text.size() > kMaxOutput) fail(line, "a string is longer than " + std::to_string(kMaxOutput >> 20) + " MiB");
        return Value::from(std::move(text));
    }

    void write(std::string& out, const std::string& text, int line) {
        out += text;
        if (out.size() > kMaxOutput) fail(line, "the output is larger than " + std::to_string(kMaxOutput >> 20) + " MiB");
    }

    Flow exec(const Body& body, std::string& out) {
        for (const Node& node : body) {
            const Flow flow = exec(node, out);
            if (flow != Flow::Normal) return flow;
        }
        return Flow::Normal;
    }

    Flow exec(const Node& node, std::string& out) {
        switch (node.kind) {
            case Node::Kind::Text: write(out, node.text, node.line); return Flow::Normal;
            case Node::Kind::Output: write(out, eval(*node.expr).str(), node.line); return Flow::Normal;
            case Node::Kind::If:
                for (const auto& [condition, branch] : node.branches)
                    if (eval(*condition).truthy()) return exec(branch, out);
                return exec(node.else_body, out);
            case Node::Kind::For: return exec_for(node, out);
            case Node::Kind::Set: {
                Value v;
                if (node.expr) {
                    v = eval(*node.expr);
                } else {
                    std::string captured;
                    if (exec(node.body, captured) != Flow::Normal) fail(node.line, "break or continue inside a set block");
                    v = Value::from(std::move(captured));
                }
                if (!node.attribute_of.empty()) {
                    Value target = lookup(node.attribute_of);
                    if (target.kind != Value::Kind::Namespace && target.kind != Value::Kind::Dict)
                        fail(node.line, "cannot set an attribute of '" + node.attribute_of + "', a " + target.type_name());
                    target.set_member(node.targets[0], std::move(v));
                } else {
                    assign_targets(node.targets, v, node.line);
                }
                return Flow::Normal;
            }
            case Node::Kind::Macro: assign(node.name, make_macro(node)); return Flow::Normal;
            case Node::Kind::Break: return Flow::Break;
            case Node::Kind::Continue: return Flow::Continue;
            case Node::Kind::FilterBlock: {
                std::string captured;
                if (exec(node.body, captured) != Flow::Normal) fail(node.line, "break or continue inside a filter block");
                placeholder_ = Value::from(std::move(captured));
                write(out, eval(*node.expr).str(), node.line);
                return Flow::Normal;
            }
            case Node::Kind::Generation: return exec(node.body, out);
        }
        return Flow::Normal;
    }

    Flow exec_for(const Node& node, std::string& out) {
        const Value iterable = eval(*node.expr);
        if (iterable.is_none()) fail(node.line, "cannot loop over none");
        List items = iterate(iterable);
        if (node.filter) {
            List kept;
            for (const Value& item : items) {
                scopes_.push_back(std::make_shared<Scope>());
                assign_targets(node.targets, item, node.line);
                const bool keep = eval(*node.filter).truthy();
                scopes_.pop_back();
                if (keep) kept.push_back(item);
            }
            items = std::move(kept);
        }
        if (items.empty()) return exec(node.else_body, out);
        const auto n = static_cast<int64_t>(items.size());
        for (int64_t i = 0; i < n; ++i) {
            step(node.line);
            scopes_.push_back(std::make_shared<Scope>());
            Dict loop = {{"index", Value::from(i + 1)},
                         {"index0", Value::from(i)},
                         {"revindex", Value::from(n - i)},
                         {"revindex0", Value::from(n - i - 1)},
                         {"first", Value::from(i == 0)},
                         {"last", Value::from(i == n - 1)},
                         {"length", Value::from(n)},
                         {"previtem", i > 0 ? items[static_cast<size_t>(i - 1)] : Value()},
                         {"nextitem", i + 1 < n ? items[static_cast<size_t>(i + 1)] : Value()},
                         {"cycle", Value::from_function([i](CallArgs& a) {
                              if (a.positional.empty()) return Value();
                              return a.positional[static_cast<size_t>(i) % a.positional.size()];
                          })}};
            assign("loop", Value::new_namespace(std::move(loop)));
            assign_targets(node.targets, items[static_cast<size_t>(i)], node.line);
            const Flow flow = exec(node.body, out);
            scopes_.pop_back();
            if (flow == Flow::Break) break;
        }
        return Flow::Normal;
    }

    Value make_macro(const Node& node) {
        const Node* macro = &node;
        return Value::from_function([this, macro](CallArgs& args) {
            step(macro->line);
            if (++call_depth_ > kMaxCallDepth) fail(macro->line, "macros call each other deeper than " + std::to_string(kMaxCallDepth));
            // A macro sees the template's variables (as they are when it runs) and its own.
            std::vector<std::shared_ptr<Scope>> saved = std::move(scopes_);
            scopes_ = {saved[0], saved[1], std::make_shared<Scope>()};
            for (const auto& keyword : args.keyword) {
                const std::string& key = keyword.first;
                if (std::none_of(macro->params.begin(), macro->params.end(), [&](const auto& p) { return p.first == key; }))
                    fail(macro->line, "macro '" + macro->name + "' has no parameter '" + key + "'");
            }
            if (args.positional.size() > macro->params.size()) fail(macro->line, "too many arguments for macro '" + macro->name + "'");
            for (size_t i = 0; i < macro->params.size(); ++i) {
                const auto& [param, fallback] = macro->params[i];
                Value v = argument(args, i, param.c_str(), Value());
                bool given = i < args.positional.size();
                for (const auto& kw : args.keyword) given = given || kw.first == param;
                if (!given && fallback) v = eval(*fallback);
                assign(param, std::move(v));
            }
            std::string out;
            try {
                exec(macro->body, out);
            } catch (...) {
                scopes_ = std::move(saved);
                --call_depth_;
                throw;
            }
            scopes_ = std::move(saved);
            --call_depth_;
            return Value::from(std::move(out));
        });
    }

    Value call(const Value& callee, CallArgs& args, int line, const std::string& what) {
        if (callee.kind != Value::Kind::Function) fail(line, "'" + what + "' is not callable (it is " + callee.type_name() + ")");
        try {
            return (*callee.function)(args);
        } catch (const Error& e) {
            const std::string message = e.what();
            if (message.rfind("template error", 0) == 0) throw;
            fail(line, message);
        }
    }

    CallArgs arguments(const Expr& e, size_t first) {
        CallArgs args;
        for (size_t i = first; i < e.children.size(); ++i) args.positional.push_back(eval(*e.children[i]));
        for (const auto& [k, v] : e.keywords) args.keyword.emplace_back(k, eval(*v));
        return args;
    }

    static std::string describe(const Expr& e) {
        if (e.kind == Expr::Kind::Name) return e.name;
        if (e.kind == Expr::Kind::Attribute) return describe(*e.children[0]) + "." + e.name;
        return "expression";
    }

    Value eval(const Expr& e) {
        switch (e.kind) {
            case Expr::Kind::Literal: return e.literal.is_undefined() ? placeholder_ : e.literal;
            case Expr::Kind::Name: return lookup(e.name);
            case Expr::Kind::List:
            case Expr::Kind::Tuple: {
                List items;
                for (const auto& c : e.children) items.push_back(eval(*c));
                return Value::from_list(std::move(items));
            }
            case Expr::Kind::Dict: {
                Value d = Value::from_dict();
                for (size_t i = 0; i + 1 < e.children.size(); i += 2) {
                    const Value key = eval(*e.children[i]);
                    if (!key.is_string()) fail(e.line, "dict keys must be strings");
                    d.set_member(key.string, eval(*e.children[i + 1]));
                }
                return d;
            }
            case Expr::Kind::Attribute: return get_attribute(eval(*e.children[0]), e.name);
            case Expr::Kind::Subscript: return get_item(eval(*e.children[0]), eval(*e.children[1]));
            case Expr::Kind::Slice: {
                const auto part = [&](size_t i) { return e.children[i] ? eval(*e.children[i]) : Value(); };
                try {
                    return get_slice(eval(*e.children[0]), part(1), part(2), part(3));
                } catch (const Error& err) {
                    fail(e.line, err.what());
                }
            }
            case Expr::Kind::Call: {
                const Value callee = eval(*e.children[0]);
                CallArgs args = arguments(e, 1);
                return call(callee, args, e.line, describe(*e.children[0]));
            }
            case Expr::Kind::Filter: {
                const Value subject = eval(*e.children[0]);
                CallArgs args = arguments(e, 1);
                try {
                    return apply_filter(e.name, subject, args);
                } catch (const Error& err) {
                    fail(e.line, err.what());
                }
            }
            case Expr::Kind::Test: {
                const Value subject = eval(*e.children[0]);
                CallArgs args = arguments(e, 1);
                try {
                    return Value::from(apply_test(e.name, subject, args) != e.negated);
                } catch (const Error& err) {
                    fail(e.line, err.what());
                }
            }
            case Expr::Kind::Unary: {
                const Value v = eval(*e.children[0]);
                if (e.name == "not") return Value::from(!v.truthy());
                if (v.kind == Value::Kind::Int) {
                    if (e.name == "-" && v.integer == INT64_MIN) fail(e.line, "integer overflow in unary -");
                    return Value::from(e.name == "-" ? -v.integer : v.integer);
                }
                if (!v.is_number()) fail(e.line, std::string("bad operand for unary ") + e.name + ": " + v.type_name());
                return Value::from(e.name == "-" ? -v.as_double() : v.as_double());
            }
            case Expr::Kind::Binary: return binary(e);
            case Expr::Kind::Ternary: {
                if (eval(*e.children[1]).truthy()) return eval(*e.children[0]);
                return e.children[2] ? eval(*e.children[2]) : Value();
            }
        }
        return Value();
    }

    Value binary(const Expr& e) {
        const std::string& op = e.name;
        const Value a = eval(*e.children[0]);
        if (op == "and") return a.truthy() ? eval(*e.children[1]) : a;
        if (op == "or") return a.truthy() ? a : eval(*e.children[1]);
        const Value b = eval(*e.children[1]);
        if (op == "==") return Value::from(equal(a, b));
        if (op == "!=") return Value::from(!equal(a, b));
        if (op == "in" || op == "not in") {
            CallArgs args;
            args.positional.push_back(b);
            bool found;
            try {
                found = !b.is_undefined() && !b.is_none() && apply_test("in", a, args);
            } catch (const Error& err) {
                fail(e.line, err.what());
            }
            return Value::from(found == (op == "in"));
        }
        if (op == "~") return bounded_string(a.str() + b.str(), e.line);
        try {
            if (op == "<") return Value::from(less(a, b));
            if (op == ">") return Value::from(less(b, a));
            if (op == "<=") return Value::from(!less(b, a));
            if (op == ">=") return Value::from(!less(a, b));
        } catch (const Error& err) {
            fail(e.line, err.what());
        }
        const bool ints = (a.kind == Value::Kind::Int || a.kind == Value::Kind::Bool) && (b.kind == Value::Kind::Int || b.kind == Value::Kind::Bool);
        const auto int_of = [](const Value& v) { return v.kind == Value::Kind::Bool ? int64_t{v.boolean} : v.integer; };
        // Python's integers do not overflow; ours are 64 bits, so a result that does not fit is an error.
        int64_t r = 0;  // the result of a checked integer operation
        const auto checked = [&](bool overflowed) {
            if (overflowed) fail(e.line, "integer overflow in " + op);
            return Value::from(r);
        };
        if (op == "+") {
            if (a.is_string() && b.is_string()) return bounded_string(a.string + b.string, e.line);
            if (a.is_list() && b.is_list()) {
                if (a.list->size() + b.list->size() > kMaxListItems) fail(e.line, "a list is longer than " + std::to_string(kMaxListItems));
                List items = *a.list;
                items.insert(items.end(), b.list->begin(), b.list->end());
                return Value::from_list(std::move(items));
            }
            if (ints) return checked(__builtin_add_overflow(int_of(a), int_of(b), &r));
            if (a.is_number() && b.is_number()) return Value::from(a.as_double() + b.as_double());
        } else if (op == "-") {
            if (ints) return checked(__builtin_sub_overflow(int_of(a), int_of(b), &r));
            if (a.is_number() && b.is_number()) return Value::from(a.as_double() - b.as_double());
        } else if (op == "*") {
            if (ints) return checked(__builtin_mul_overflow(int_of(a), int_of(b), &r));
            if (a.is_number() && b.is_number()) return Value::from(a.as_double() * b.as_double());
            const Value& text = a.is_string() ? a : b;
            const Value& count = a.is_string() ? b : a;
            if (text.is_string() && (count.kind == Value::Kind::Int || count.kind == Value::Kind::Bool)) {
                // An empty string repeated any number of times is empty: no loop over the count.
                const int64_t times = int_of(count);
                if (times <= 0 || text.string.empty()) return Value::from(std::string());
                if (static_cast<uint64_t>(times) > kMaxOutput / text.string.size()) fail(e.line, "a repeated string is too long");
                std::string out;
                out.reserve(text.string.size() * static_cast<size_t>(times));
                for (int64_t i = 0; i < times; ++i) out += text.string;
                return Value::from(out);
            }
        } else if (op == "/" || op == "//" || op == "%") {
            if (a.is_number() && b.is_number()) {
                if (b.as_double() == 0) fail(e.line, "division by zero");
                if (op == "/") return Value::from(a.as_double() / b.as_double());
                if (ints) {
                    const int64_t x = int_of(a), y = int_of(b);
                    if (x == INT64_MIN && y == -1) fail(e.line, "integer overflow in " + op);
                    const int64_t q = x / y - ((x % y != 0) && ((x < 0) != (y < 0)) ? 1 : 0);
                    return Value::from(op == "//" ? q : x - q * y);
                }
                const double q = std::floor(a.as_double() / b.as_double());
                return Value::from(op == "//" ? q : a.as_double() - q * b.as_double());
            }
        } else if (op == "**") {
            if (ints && int_of(b) >= 0) {
                // By squaring: a few dozen steps for any exponent, overflow checked at each.
                int64_t base = int_of(a);
                bool overflowed = false;
                r = 1;
                for (int64_t exponent = int_of(b); exponent > 0 && !overflowed; exponent >>= 1) {
                    if (exponent & 1) overflowed = __builtin_mul_overflow(r, base, &r);
                    if (exponent > 1 && !overflowed) overflowed = __builtin_mul_overflow(base, base, &base);
                }
                return checked(overflowed);
            }
            if (a.is_number() && b.is_number()) return Value::from(std::pow(a.as_double(), b.as_double()));
        }
        fail(e.line, "unsupported operand types for " + op + ": " + a.type_name() + " and " + b.type_name());
    }

    std::vector<std::shared_ptr<Scope>> scopes_;
    int64_t steps_ = 0;
    int call_depth_ = 0;
    Value placeholder_;  // the body of a {% filter %} block
};

}  // namespace

Template::Template(const std::string& source) : body_(std::make_shared<const Body>(parse(source))) {}
Template::~Template() = default;
Template::Template(Template&&) noexcept = default;
Template& Template::operator=(Template&&) noexcept = default;

std::string Template::render(const nlohmann::ordered_json& variables) const {
    Interpreter interpreter(variables);
    return interpreter.run(*body_);
}

}  // namespace rockllm::jinja
