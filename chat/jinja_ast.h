// The syntax tree of a Jinja template: expressions and statements, each with its line for errors.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chat/jinja_value.h"

namespace rockllm::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
    enum class Kind {
        Literal,    // literal
        Name,       // name
        List,       // children: items
        Tuple,      // children: items
        Dict,       // children: key, value, key, value, ...
        Attribute,  // children[0].name
        Subscript,  // children[0][children[1]]
        Slice,      // children[0][children[1]:children[2]:children[3]], absent parts null
        Call,       // children[0](children[1..], keywords)
        Filter,     // children[0] | name(children[1..], keywords)
        Test,       // children[0] is [not] name(children[1..])
        Unary,      // name ("not", "-", "+") children[0]
        Binary,     // children[0] name children[1]; name is the operator, "and"/"or", "in", "not in"
        Ternary,    // children[0] if children[1] else children[2] (null: undefined)
    };
    Kind kind;
    int line = 0;
    Value literal;
    std::string name;
    bool negated = false;
    std::vector<ExprPtr> children;
    std::vector<std::pair<std::string, ExprPtr>> keywords;
};

struct Node;
using Body = std::vector<Node>;

struct Node {
    enum class Kind {
        Text,        // text
        Output,      // {{ expr }}
        If,          // branches: (condition, body)...; else_body
        For,         // targets in expr [if filter]: body; else_body
        Set,         // targets = expr, or attribute_of.targets[0] = expr; a block set renders body instead
        Macro,       // name(params): body
        Break,
        Continue,
        FilterBlock, // {% filter name %}: body through filter expr (children[0] is a placeholder)
        Generation,  // {% generation %}: body as it is
    };
    Kind kind;
    int line = 0;
    std::string text;
    ExprPtr expr;
    ExprPtr filter;  // For: the "if" filter
    std::vector<std::pair<ExprPtr, Body>> branches;
    Body body, else_body;
    std::vector<std::string> targets;
    std::string attribute_of;  // Set: the namespace for "set ns.attr = ..."
    std::string name;          // Macro
    std::vector<std::pair<std::string, ExprPtr>> params;  // Macro: name and default (null: none)
};

}  // namespace rockllm::jinja
