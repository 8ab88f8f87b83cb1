// The parsed form of a Go template, shared by the parser and the executor.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rockllm::gotmpl {

struct Pipeline;

// One argument of a command: a value, then optional field accesses (.A.B) after it.
struct Operand {
    enum class Kind { Dot, Field, Variable, Literal, Function, Parenthesised } kind = Kind::Dot;
    std::string name;                  // variable ("$", "$x") or function name
    nlohmann::json literal;            // for Literal
    std::shared_ptr<Pipeline> nested;  // for Parenthesised
    std::vector<std::string> fields;   // accessed in order after the value
};

struct Command {
    std::vector<Operand> args;
};

struct Pipeline {
    std::vector<std::string> variables;  // "$x" of `$x := ...` or `$i, $v := ...`
    bool declares = false;               // := (declares) or = (assigns)
    std::vector<Command> commands;
    int line = 0, column = 0;
};

struct Node {
    enum class Kind { List, Text, Action, If, Range, With, Break, Continue } kind = Kind::List;
    std::string text;                     // Text
    Pipeline pipeline;                    // Action, If, Range, With
    std::vector<std::unique_ptr<Node>> children;  // List
    std::unique_ptr<Node> body, otherwise;        // If, Range, With (otherwise may be null)
    int line = 0, column = 0;
};

}  // namespace rockllm::gotmpl
