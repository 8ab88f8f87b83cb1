// JSON schema "pattern": a regular expression compiled to grammar rules over the bytes between a
// JSON string's quotes, so the answer's decoded text matches it. The subset of ECMA-262 regular
// expressions that schemas use: literals and escapes, ".", classes ([a-z0-9_], [^...], \d \w \s
// and their negations), groups ((...), (?:...)), alternation, the quantifiers * + ? {n} {n,} {n,m}
// (lazy forms read as greedy) and the anchors ^ and $ at the ends. An unanchored end allows any
// text there, as a pattern matches anywhere in the string. Characters JSON must escape (quote,
// backslash, control characters) are written escaped.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include "grammar/grammar.h"

namespace rockllm {

// Syntax outside the subset (backreferences, lookaround, inner anchors, classes with non-ASCII
// members, ...).
struct PatternUnsupported : std::invalid_argument {
    using std::invalid_argument::invalid_argument;
};

// Adds the rules of `pattern` to the grammar and returns the rule of the string's contents (without
// the quotes). json_char: the rule of any one character of a JSON string (for "." and negated classes).
int32_t add_pattern_rules(Grammar& grammar, std::string_view pattern, int32_t json_char, const std::string& name);

}  // namespace rockllm
