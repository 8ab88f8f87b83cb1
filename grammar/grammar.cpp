#include "grammar.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <limits>
#include <stdexcept>

namespace rockllm {

namespace {

constexpr int32_t kUnbounded = std::numeric_limits<int32_t>::max() / 4;

int32_t symbol_cost(const GrammarSymbol& s, const std::vector<int32_t>& rule_min) {
    if (s.is_bytes()) return 1;
    if (s.is_end()) return 0;
    return rule_min[static_cast<size_t>(s.rule)];
}

}  // namespace

int32_t Grammar::declare(std::string name) {
    rules_.emplace_back();
    names_.push_back(std::move(name));
    defined_.push_back(false);
    return static_cast<int32_t>(rules_.size() - 1);
}

void Grammar::define(int32_t rule, std::vector<GrammarSequence> alternatives) {
    if (rule < 0 || rule >= rule_count()) throw std::invalid_argument("grammar: no rule " + std::to_string(rule));
    if (alternatives.empty()) throw std::invalid_argument("grammar: rule '" + name(rule) + "' has no alternatives");
    for (auto& alt : alternatives) {
        for (const auto& s : alt)
            if (s.is_end() || (!s.is_bytes() && (s.rule < 0 || s.rule >= rule_count())))
                throw std::invalid_argument("grammar: rule '" + name(rule) + "' refers to an unknown rule");
        GrammarSymbol end;
        end.rule = GrammarSymbol::kEnd;
        alt.push_back(end);
    }
    rules_[static_cast<size_t>(rule)] = std::move(alternatives);
    defined_[static_cast<size_t>(rule)] = true;
}

int32_t Grammar::add(std::string name, std::vector<GrammarSequence> alternatives) {
    const int32_t id = declare(std::move(name));
    define(id, std::move(alternatives));
    return id;
}

void Grammar::finalize() {
    if (root_ < 0 || root_ >= rule_count()) throw std::invalid_argument("grammar: no root rule");
    for (int32_t r = 0; r < rule_count(); ++r)
        if (!defined_[static_cast<size_t>(r)]) throw std::invalid_argument("grammar: rule '" + name(r) + "' is not defined");

    // Fewest bytes each rule matches: a fixpoint from "unbounded" downwards.
    min_length_.assign(rules_.size(), kUnbounded);
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t r = 0; r < rules_.size(); ++r)
            for (const auto& alt : rules_[r]) {
                int64_t total = 0;
                for (const auto& s : alt) total += symbol_cost(s, min_length_);
                if (total < min_length_[r]) {
                    min_length_[r] = static_cast<int32_t>(total);
                    changed = true;
                }
            }
    }
    for (int32_t r = 0; r < rule_count(); ++r)
        if (min_length_[static_cast<size_t>(r)] >= kUnbounded)
            throw std::invalid_argument("grammar: rule '" + name(r) + "' never ends (it always recurses)");

    // A rule that can reach itself before consuming a byte would make the matcher loop.
    std::vector<int> state(rules_.size(), 0);  // 0 unvisited, 1 on the path, 2 done
    std::function<void(size_t)> visit = [&](size_t r) {
        state[r] = 1;
        for (const auto& alt : rules_[r])
            for (const auto& s : alt) {
                if (!s.is_end() && !s.is_bytes()) {
                    const auto next = static_cast<size_t>(s.rule);
                    if (state[next] == 1) throw std::invalid_argument("grammar: rule '" + names_[next] + "' is left-recursive");
                    if (state[next] == 0) visit(next);
                }
                if (symbol_cost(s, min_length_) > 0 || s.is_end()) break;
            }
        state[r] = 2;
    };
    for (size_t r = 0; r < rules_.size(); ++r)
        if (state[r] == 0) visit(r);

    for (auto& alternatives : rules_)
        for (auto& alt : alternatives) {
            int64_t remaining = 0;
            for (size_t i = alt.size(); i-- > 0;) {
                remaining = std::min<int64_t>(remaining + symbol_cost(alt[i], min_length_), kUnbounded);
                alt[i].min_remaining = static_cast<int32_t>(remaining);
            }
        }
    finalized_ = true;
}

std::string Grammar::describe() const {
    const auto describe_bytes = [](const std::bitset<256>& b) {
        std::string out = "[";
        for (int c = 0; c < 256; ++c) {
            if (!b.test(static_cast<size_t>(c))) continue;
            int end = c;
            while (end + 1 < 256 && b.test(static_cast<size_t>(end + 1))) ++end;
            const auto show = [](int x) {
                if (x >= 0x21 && x < 0x7f && x != ']' && x != '\\' && x != '-') return std::string(1, static_cast<char>(x));
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\x%02X", x);
                return std::string(buf);
            };
            out += show(c);
            if (end > c) out.append("-").append(show(end));
            c = end;
        }
        return out + "]";
    };
    std::string out;
    for (int32_t r = 0; r < rule_count(); ++r) {
        out += name(r) + " ::=";
        bool first = true;
        for (const auto& alt : alternatives(r)) {
            out += first ? " " : " | ";
            first = false;
            if (alt.size() == 1) out += "\"\"";
            for (const auto& s : alt) {
                if (s.is_end()) continue;
                out += s.is_bytes() ? describe_bytes(s.bytes) : name(s.rule);
                out += ' ';
            }
        }
        out += '\n';
    }
    return out;
}

GrammarSymbol Grammar::ref(int32_t rule) {
    GrammarSymbol s;
    s.rule = rule;
    return s;
}

GrammarSymbol Grammar::byte(unsigned char c) {
    GrammarSymbol s;
    s.bytes.set(c);
    return s;
}

GrammarSymbol Grammar::byte_set(std::string_view ranges) {
    GrammarSymbol s;
    const bool negate = !ranges.empty() && ranges.front() == '^';
    if (negate) ranges.remove_prefix(1);
    for (size_t i = 0; i < ranges.size(); ++i) {
        const auto lo = static_cast<unsigned char>(ranges[i]);
        if (i + 2 < ranges.size() && ranges[i + 1] == '-') {
            const auto hi = static_cast<unsigned char>(ranges[i + 2]);
            for (unsigned c = lo; c <= hi; ++c) s.bytes.set(c);
            i += 2;
        } else {
            s.bytes.set(lo);
        }
    }
    if (negate) s.bytes.flip();
    return s;
}

GrammarSequence Grammar::literal(std::string_view text) {
    GrammarSequence seq;
    for (char c : text) seq.push_back(byte(static_cast<unsigned char>(c)));
    return seq;
}

GrammarMatcher::GrammarMatcher(const Grammar& grammar) : grammar_(&grammar) {
    if (!grammar.finalized()) throw std::invalid_argument("grammar is not finalized");
    for (const auto& alt : grammar.alternatives(grammar.root())) {
        Stack s;
        if (!alt.front().is_end()) s.push_back(&alt.front());
        expand(std::move(s), stacks_);
    }
    normalize(stacks_);
}

void GrammarMatcher::expand(Stack stack, std::vector<Stack>& out) const {
    if (stack.empty() || stack.back()->is_bytes()) {
        out.push_back(std::move(stack));
        return;
    }
    const GrammarSymbol* position = stack.back();
    stack.pop_back();
    if (!(position + 1)->is_end()) stack.push_back(position + 1);
    for (const auto& alt : grammar_->alternatives(position->rule)) {
        Stack next = stack;
        if (!alt.front().is_end()) next.push_back(&alt.front());
        expand(std::move(next), out);
    }
}

void GrammarMatcher::normalize(std::vector<Stack>& stacks) {
    std::sort(stacks.begin(), stacks.end());
    stacks.erase(std::unique(stacks.begin(), stacks.end()), stacks.end());
}

bool GrammarMatcher::accept_byte(unsigned char c) {
    std::vector<Stack> next;
    for (const Stack& s : stacks_) {
        if (s.empty() || !s.back()->bytes.test(c)) continue;
        Stack advanced = s;
        const GrammarSymbol* position = advanced.back();
        advanced.pop_back();
        if (!(position + 1)->is_end()) advanced.push_back(position + 1);
        expand(std::move(advanced), next);
    }
    if (next.empty()) return false;
    normalize(next);
    stacks_ = std::move(next);
    return true;
}

bool GrammarMatcher::accept(std::string_view bytes) {
    std::vector<Stack> saved = stacks_;
    for (char c : bytes)
        if (!accept_byte(static_cast<unsigned char>(c))) {
            stacks_ = std::move(saved);
            return false;
        }
    return true;
}

bool GrammarMatcher::accepting() const {
    return std::any_of(stacks_.begin(), stacks_.end(), [](const Stack& s) { return s.empty(); });
}

bool GrammarMatcher::can_continue() const {
    return std::any_of(stacks_.begin(), stacks_.end(), [](const Stack& s) { return !s.empty(); });
}

int32_t GrammarMatcher::min_remaining() const {
    int64_t best = kUnbounded;
    for (const Stack& s : stacks_) {
        int64_t total = 0;
        for (const GrammarSymbol* position : s) total += position->min_remaining;
        best = std::min(best, total);
    }
    return static_cast<int32_t>(std::min<int64_t>(best, kUnbounded));
}

std::string GrammarMatcher::state_key() const {
    std::string key;
    for (const Stack& s : stacks_) {
        key.append(reinterpret_cast<const char*>(s.data()), s.size() * sizeof(const GrammarSymbol*));
        key.append(sizeof(const GrammarSymbol*), '\0');  // no symbol lives at address 0
    }
    return key;
}

}  // namespace rockllm
