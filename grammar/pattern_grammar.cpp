#include "grammar/pattern_grammar.h"

#include <bitset>
#include <vector>

namespace rockllm {

namespace {

using Seq = GrammarSequence;

constexpr int kMaxRepeat = 1000;
constexpr int kMaxNesting = 32;     // groups within groups (the parser recurses per group)
constexpr int kMaxPatternRules = 20000;    // rules one pattern may add

class PatternCompiler {
public:
    PatternCompiler(Grammar& g, std::string_view pattern, int32_t json_char, std::string name)
        : g_(g), p_(pattern), json_char_(json_char), name_(std::move(name)) {}

    int32_t compile() {
        const bool anchored_start = !p_.empty() && p_.front() == '^';
        if (anchored_start) p_.remove_prefix(1);
        bool anchored_end = !p_.empty() && p_.back() == '$' && (p_.size() < 2 || p_[p_.size() - 2] != '\\');
        if (anchored_end) p_.remove_suffix(1);
        const int32_t body = alternation();
        if (pos_ != p_.size()) fail("unexpected '" + std::string(1, p_[pos_]) + "'");
        Seq seq;
        const int32_t anything = repeat({Grammar::ref(json_char_)}, 0, -1);
        if (!anchored_start) seq.push_back(Grammar::ref(anything));
        seq.push_back(Grammar::ref(body));
        if (!anchored_end) seq.push_back(Grammar::ref(anything));
        return add({seq});
    }

private:
    [[noreturn]] void fail(const std::string& why) const { throw PatternUnsupported("pattern: " + why); }
    bool more() const { return pos_ < p_.size(); }
    char peek() const { return p_[pos_]; }

    int32_t add(std::vector<Seq> alternatives) {
        if (count_ >= kMaxPatternRules) fail("more than " + std::to_string(kMaxPatternRules) + " grammar rules");
        return g_.add(name_ + "-" + std::to_string(count_++), std::move(alternatives));
    }

    int32_t alternation() {
        std::vector<Seq> alternatives = {sequence()};
        while (more() && peek() == '|') {
            ++pos_;
            alternatives.push_back(sequence());
        }
        return add(alternatives);
    }

    Seq sequence() {
        Seq seq;
        while (more() && peek() != '|' && peek() != ')') {
            Seq item = atom();
            if (more() && (peek() == '*' || peek() == '+' || peek() == '?' || peek() == '{')) {
                int min = 0, max = -1;
                quantifier(min, max);
                item = {Grammar::ref(repeat(item, min, max))};
            }
            seq.insert(seq.end(), item.begin(), item.end());
        }
        return seq;
    }

    void quantifier(int& min, int& max) {
        const char q = p_[pos_++];
        if (q == '*') min = 0, max = -1;
        else if (q == '+') min = 1, max = -1;
        else if (q == '?') min = 0, max = 1;
        else {
            min = number();
            max = min;
            if (more() && peek() == ',') {
                ++pos_;
                max = more() && peek() == '}' ? -1 : number();
            }
            if (!more() || p_[pos_++] != '}') fail("a quantifier {n,m} is not closed");
            if (max >= 0 && max < min) fail("a quantifier's maximum is below its minimum");
        }
        if (more() && peek() == '?') ++pos_;  // lazy: the same strings
    }

    int number() {
        int n = 0;
        if (!more() || peek() < '0' || peek() > '9') fail("a quantifier needs a number");
        while (more() && peek() >= '0' && peek() <= '9') {
            n = n * 10 + (p_[pos_++] - '0');
            if (n > kMaxRepeat) fail("repetitions above " + std::to_string(kMaxRepeat));
        }
        return n;
    }

    // item repeated min..max times (max < 0: unbounded).
    int32_t repeat(const Seq& item, int min, int max) {
        int32_t tail;
        if (max < 0) {
            if (count_ >= kMaxPatternRules) fail("more than " + std::to_string(kMaxPatternRules) + " grammar rules");
            tail = g_.declare(name_ + "-" + std::to_string(count_++));
            g_.define(tail, {item + Seq{Grammar::ref(tail)}, {}});
        } else {
            tail = add({{}});
            for (int i = 0; i < max - min; ++i) tail = add({item + Seq{Grammar::ref(tail)}, {}});
        }
        Seq seq;
        for (int i = 0; i < min; ++i) seq.insert(seq.end(), item.begin(), item.end());
        seq.push_back(Grammar::ref(tail));
        return add({seq});
    }

    Seq atom() {
        const char c = p_[pos_++];
        switch (c) {
            case '(': {
                if (++nesting_ > kMaxNesting) fail("groups nest deeper than " + std::to_string(kMaxNesting));
                if (more() && peek() == '?') {
                    if (pos_ + 1 < p_.size() && p_[pos_ + 1] == ':') pos_ += 2;
                    else fail("lookaround and named groups are not supported");
                }
                const int32_t inner = alternation();
                if (!more() || p_[pos_++] != ')') fail("a group is not closed");
                --nesting_;
                return {Grammar::ref(inner)};
            }
            case '[': return char_set(bracket());
            case '.': return {Grammar::ref(json_char_)};
            case '\\': return char_set(escape());
            case '^': case '$': fail("anchors inside the pattern are not supported");
            case '*': case '+': case '?': case '{': fail("a quantifier with nothing to repeat");
            default: return literal_byte(static_cast<unsigned char>(c));
        }
    }

    struct CharSet {
        std::bitset<128> ascii;
        bool negated = false;
    };

    CharSet escape() {
        if (!more()) fail("the pattern ends with a backslash");
        const char e = p_[pos_++];
        CharSet s;
        const auto range = [&](char a, char b) { for (int c = a; c <= b; ++c) s.ascii.set(static_cast<size_t>(c)); };
        switch (e) {
            case 'd': case 'D': range('0', '9'); break;
            case 'w': case 'W': range('0', '9'); range('a', 'z'); range('A', 'Z'); s.ascii.set('_'); break;
            case 's': case 'S': for (char w : {' ', '\t', '\n', '\r', '\f', '\v'}) s.ascii.set(static_cast<size_t>(w)); break;
            case 'n': s.ascii.set('\n'); break;
            case 't': s.ascii.set('\t'); break;
            case 'r': s.ascii.set('\r'); break;
            default:
                if ((e >= '0' && e <= '9') || e == 'b' || e == 'B' || e == 'k' || e == 'p' || e == 'P' || e == 'u' || e == 'x')
                    fail(std::string("the escape \\") + e + " is not supported");
                if (static_cast<unsigned char>(e) >= 128) fail("non-ASCII escapes are not supported");
                s.ascii.set(static_cast<size_t>(e));
        }
        s.negated = e == 'D' || e == 'W' || e == 'S';
        return s;
    }

    CharSet bracket() {
        CharSet s;
        if (more() && peek() == '^') {
            s.negated = true;
            ++pos_;
        }
        bool first = true;
        while (more() && (peek() != ']' || first)) {
            first = false;
            int lo;
            if (peek() == '\\') {
                ++pos_;
                const CharSet e = escape();
                if (e.negated) fail("negated escapes inside a class are not supported");
                s.ascii |= e.ascii;
                continue;
            }
            lo = static_cast<unsigned char>(p_[pos_++]);
            int hi = lo;
            if (pos_ + 1 < p_.size() && peek() == '-' && p_[pos_ + 1] != ']') {
                ++pos_;
                hi = static_cast<unsigned char>(p_[pos_++]);
                if (hi == '\\') fail("escaped range ends are not supported");
            }
            if (lo >= 128 || hi >= 128) fail("non-ASCII characters in a class are not supported");
            if (hi < lo) fail("a class range runs backwards");
            for (int c = lo; c <= hi; ++c) s.ascii.set(static_cast<size_t>(c));
        }
        if (!more()) fail("a class is not closed");
        ++pos_;  // ']'
        return s;
    }

    // How byte c appears inside a JSON string.
    static Seq json_form(unsigned char c) {
        switch (c) {
            case '"': return Grammar::literal("\\\"");
            case '\\': return Grammar::literal("\\\\");
            case '\n': return Grammar::literal("\\n");
            case '\t': return Grammar::literal("\\t");
            case '\r': return Grammar::literal("\\r");
            case '\f': return Grammar::literal("\\f");
            case '\b': return Grammar::literal("\\b");
            default:
                if (c < 0x20) return {};  // \v and other controls: only as \u escapes; left out
                return {Grammar::byte(c)};
        }
    }

    Seq literal_byte(unsigned char c) {
        if (c >= 128) return {Grammar::byte(c)};  // part of a UTF-8 character, matched byte by byte
        Seq form = json_form(c);
        if (form.empty()) fail("control characters are not supported");
        return form;
    }

    Seq char_set(const CharSet& s) {
        std::vector<Seq> alternatives;
        GrammarSymbol plain = Grammar::byte_set("");
        for (size_t c = 0; c < 128; ++c) {
            if (s.ascii.test(c) == s.negated) continue;
            const Seq form = json_form(static_cast<unsigned char>(c));
            if (form.size() == 1) plain.bytes.set(c);
            else if (!form.empty()) alternatives.push_back(form);
        }
        if (plain.bytes.any()) alternatives.insert(alternatives.begin(), Seq{plain});
        if (s.negated) {  // any non-ASCII character too
            const GrammarSymbol tail = Grammar::byte_set("\x80-\xBF");
            alternatives.push_back({Grammar::byte_set("\xC2-\xDF"), tail});
            alternatives.push_back({Grammar::byte_set("\xE0-\xEF"), tail, tail});
            alternatives.push_back({Grammar::byte_set("\xF0-\xF4"), tail, tail, tail});
        }
        if (alternatives.empty()) fail("a class that matches nothing");
        if (alternatives.size() == 1) return alternatives.front();
        return {Grammar::ref(add(alternatives))};
    }

    Grammar& g_;
    std::string_view p_;
    size_t pos_ = 0;
    int32_t json_char_;
    std::string name_;
    int count_ = 0;
    int nesting_ = 0;
};

}  // namespace

int32_t add_pattern_rules(Grammar& grammar, std::string_view pattern, int32_t json_char, const std::string& name) {
    return PatternCompiler(grammar, pattern, json_char, name).compile();
}

}  // namespace rockllm
