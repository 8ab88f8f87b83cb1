// Lexing (text, {{ }}, {% %}, {# #} with Hugging Face's whitespace rules) and parsing into the tree.
#include <cctype>
#include <cstdlib>

#include "chat/jinja.h"
#include "chat/jinja_ast.h"
#include "chat/jinja_parse.h"

namespace rockllm::jinja {

namespace {

constexpr int kMaxNesting = 200;

struct Token {
    enum class Kind { Name, String, Integer, Float, Operator, End };
    Kind kind = Kind::End;
    std::string text;
    int line = 0;
};

// A piece of the template: text, or the tokens of one {{ }} or {% %} tag.
struct Piece {
    enum class Kind { Text, Output, Statement };
    Kind kind;
    std::string text;
    std::vector<Token> tokens;
    int line;
};

[[noreturn]] void fail(int line, const std::string& message) {
    throw Error("template error at line " + std::to_string(line) + ": " + message);
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

class Lexer {
public:
    explicit Lexer(const std::string& source) : s_(source) {}

    std::vector<Piece> run() {
        std::vector<Piece> pieces;
        bool line_starting = true;  // the last tag's end consumed a newline (or this is the start)
        while (pos_ < s_.size()) {
            const size_t open = find_open(pos_);
            std::string text = s_.substr(pos_, open - pos_);
            const int text_line = line_;
            count_lines(pos_, open);
            if (open == s_.size()) {
                pieces.push_back({Piece::Kind::Text, text, {}, text_line});
                break;
            }
            const char kind = s_[open + 1];  // '{', '%' or '#'
            const char left = open + 2 < s_.size() ? s_[open + 2] : '\0';
            if (left == '-') {
                while (!text.empty() && is_space(text.back())) text.pop_back();
            } else if (left != '+' && kind != '{') {
                // lstrip_blocks: spaces and tabs from the start of the line up to a block tag.
                const size_t line_start = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
                if ((line_start > 0 || line_starting) &&
                    text.find_first_not_of(" \t", line_start) == std::string::npos)
                    text.erase(line_start);
            }
            if (!text.empty()) pieces.push_back({Piece::Kind::Text, text, {}, text_line});
            pos_ = open + 2 + ((left == '-' || left == '+') ? 1 : 0);
            const int tag_line = line_;

            if (kind == '#') {
                const size_t close = s_.find("#}", pos_);
                if (close == std::string::npos) fail(tag_line, "a comment is not closed with #}");
                const bool strip = close > pos_ && s_[close - 1] == '-';
                const bool keep = close > pos_ && s_[close - 1] == '+';
                count_lines(pos_, close);
                pos_ = close + 2;
                line_starting = after_tag(strip, keep, true);
                continue;
            }
            if (kind == '%' && raw_follows()) {
                pieces.push_back({Piece::Kind::Text, read_raw(tag_line), {}, tag_line});
                line_starting = false;
                continue;
            }
            Piece piece{kind == '{' ? Piece::Kind::Output : Piece::Kind::Statement, "", {}, tag_line};
            const char close_char = kind == '{' ? '}' : '%';
            char right = '\0';
            while (true) {
                skip_spaces();
                if (pos_ >= s_.size()) fail(tag_line, std::string("a tag is not closed with ") + close_char + "}");
                if ((s_[pos_] == '-' || s_[pos_] == '+') && s_.compare(pos_ + 1, 2, std::string(1, close_char) + "}") == 0) {
                    right = s_[pos_];
                    pos_ += 3;
                    break;
                }
                if (s_.compare(pos_, 2, std::string(1, close_char) + "}") == 0) {
                    pos_ += 2;
                    break;
                }
                piece.tokens.push_back(next_token());
            }
            piece.tokens.push_back({Token::Kind::End, "", line_});
            pieces.push_back(std::move(piece));
            line_starting = after_tag(right == '-', right == '+', kind == '%');
        }
        return pieces;
    }

private:
    size_t find_open(size_t from) const {
        for (size_t i = from; i + 1 < s_.size(); ++i)
            if (s_[i] == '{' && (s_[i + 1] == '{' || s_[i + 1] == '%' || s_[i + 1] == '#')) return i;
        return s_.size();
    }

    void count_lines(size_t from, size_t to) {
        for (size_t i = from; i < to && i < s_.size(); ++i)
            if (s_[i] == '\n') ++line_;
    }

    // After a tag: "-" strips all following whitespace; trim_blocks drops one newline after a block.
    bool after_tag(bool strip, bool keep, bool block) {
        const size_t start = pos_;
        if (strip) {
            while (pos_ < s_.size() && is_space(s_[pos_])) ++pos_;
        } else if (block && !keep && pos_ < s_.size() && s_[pos_] == '\n') {
            ++pos_;
        }
        count_lines(start, pos_);
        return pos_ > start && s_[pos_ - 1] == '\n';
    }

    void skip_spaces() {
        while (pos_ < s_.size() && is_space(s_[pos_])) {
            if (s_[pos_] == '\n') ++line_;
            ++pos_;
        }
    }

    bool raw_follows() {
        size_t p = pos_;
        while (p < s_.size() && is_space(s_[p])) ++p;
        return s_.compare(p, 3, "raw") == 0 && p + 3 < s_.size() && !std::isalnum(static_cast<unsigned char>(s_[p + 3])) && s_[p + 3] != '_';
    }

    std::string read_raw(int line) {
        const size_t start_tag_end = s_.find("%}", pos_);
        if (start_tag_end == std::string::npos) fail(line, "raw is not closed");
        size_t p = start_tag_end + 2;
        while (true) {
            const size_t open = s_.find("{%", p);
            if (open == std::string::npos) fail(line, "raw has no endraw");
            size_t q = open + 2;
            if (q < s_.size() && (s_[q] == '-' || s_[q] == '+')) ++q;
            while (q < s_.size() && is_space(s_[q])) ++q;
            if (s_.compare(q, 6, "endraw") == 0) {
                std::string text = s_.substr(start_tag_end + 2, open - start_tag_end - 2);
                const size_t close = s_.find("%}", q);
                if (close == std::string::npos) fail(line, "endraw is not closed");
                count_lines(pos_, close);
                pos_ = close + 2;
                return text;
            }
            p = open + 2;
        }
    }

    Token next_token() {
        Token t;
        t.line = line_;
        const char c = s_[pos_];
        if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
            const size_t start = pos_;
            while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_')) ++pos_;
            t.kind = Token::Kind::Name;
            t.text = s_.substr(start, pos_ - start);
            return t;
        }
        if (std::isdigit(static_cast<unsigned char>(c))) {
            const size_t start = pos_;
            bool is_float = false;
            while (pos_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_')) ++pos_;
            if (pos_ + 1 < s_.size() && s_[pos_] == '.' && std::isdigit(static_cast<unsigned char>(s_[pos_ + 1]))) {
                is_float = true;
                ++pos_;
                while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
            }
            if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
                size_t p = pos_ + 1;
                if (p < s_.size() && (s_[p] == '+' || s_[p] == '-')) ++p;
                if (p < s_.size() && std::isdigit(static_cast<unsigned char>(s_[p]))) {
                    is_float = true;
                    pos_ = p;
                    while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
                }
            }
            t.kind = is_float ? Token::Kind::Float : Token::Kind::Integer;
            for (char d : s_.substr(start, pos_ - start))
                if (d != '_') t.text += d;
            return t;
        }
        if (c == '\'' || c == '"') {
            ++pos_;
            t.kind = Token::Kind::String;
            while (true) {
                if (pos_ >= s_.size()) fail(t.line, "a string is not closed");
                const char d = s_[pos_++];
                if (d == c) break;
                if (d == '\n') ++line_;
                if (d != '\\') {
                    t.text += d;
                    continue;
                }
                if (pos_ >= s_.size()) fail(t.line, "a string is not closed");
                const char e = s_[pos_++];
                switch (e) {
                    case 'n': t.text += '\n'; break;
                    case 't': t.text += '\t'; break;
                    case 'r': t.text += '\r'; break;
                    case '\\': t.text += '\\'; break;
                    case '\'': t.text += '\''; break;
                    case '"': t.text += '"'; break;
                    case '\n': ++line_; break;
                    default: t.text += '\\'; t.text += e;
                }
            }
            return t;
        }
        static const char* const two[] = {"==", "!=", "<=", ">=", "//", "**"};
        for (const char* op : two)
            if (s_.compare(pos_, 2, op) == 0) {
                pos_ += 2;
                t.kind = Token::Kind::Operator;
                t.text = op;
                return t;
            }
        if (std::string("+-*/%~<>=()[]{}.,:|").find(c) != std::string::npos) {
            ++pos_;
            t.kind = Token::Kind::Operator;
            t.text = std::string(1, c);
            return t;
        }
        fail(line_, std::string("unexpected character '") + c + "'");
    }

    const std::string& s_;
    size_t pos_ = 0;
    int line_ = 1;
};

class Parser {
public:
    explicit Parser(std::vector<Piece> pieces) : pieces_(std::move(pieces)) {}

    Body parse_template() {
        std::string stop;
        Body body = parse_body({}, stop);
        return body;
    }

private:
    // Statements until one whose keyword is in `until` (returned in `stop`, its tokens positioned
    // after the keyword); the end of the template when `until` is empty.
    Body parse_body(const std::vector<std::string>& until, std::string& stop) {
        if (++depth_ > kMaxNesting) fail(current_line(), "blocks nest deeper than " + std::to_string(kMaxNesting));
        Body body;
        while (index_ < pieces_.size()) {
            Piece& piece = pieces_[index_++];
            if (piece.kind == Piece::Kind::Text) {
                body.push_back(make_node(Node::Kind::Text, piece.line));
                body.back().text = piece.text;
                continue;
            }
            tokens_ = &piece.tokens;
            at_ = 0;
            if (piece.kind == Piece::Kind::Output) {
                Node node = make_node(Node::Kind::Output, piece.line);
                node.expr = parse_expression();
                expect_end();
                body.push_back(std::move(node));
                continue;
            }
            const Token& keyword = next();
            if (keyword.kind != Token::Kind::Name) fail(keyword.line, "a statement must start with a keyword");
            for (const std::string& u : until)
                if (keyword.text == u) {
                    stop = u;
                    --depth_;
                    return body;
                }
            body.push_back(parse_statement(keyword));
        }
        if (!until.empty()) fail(last_line(), "missing {% " + until.back() + " %}");
        --depth_;
        return body;
    }

    Node parse_statement(const Token& keyword) {
        const std::string& k = keyword.text;
        Node node = make_node(Node::Kind::Text, keyword.line);
        std::string stop;
        if (k == "if") {
            node.kind = Node::Kind::If;
            ExprPtr condition = parse_expression();
            expect_end();
            while (true) {
                Body body = parse_body({"elif", "else", "endif"}, stop);
                node.branches.emplace_back(std::move(condition), std::move(body));
                if (stop == "elif") {
                    condition = parse_expression();
                    expect_end();
                    continue;
                }
                if (stop == "else") {
                    expect_end();
                    node.else_body = parse_body({"endif"}, stop);
                }
                expect_end();
                break;
            }
        } else if (k == "for") {
            node.kind = Node::Kind::For;
            do {
                node.targets.push_back(expect_name());
            } while (accept(","));
            if (!accept_name("in")) fail(keyword.line, "expected 'in' in a for loop");
            node.expr = parse_ternary(/*allow_if=*/false);
            if (accept_name("if")) node.filter = parse_ternary(false);
            if (accept_name("recursive")) fail(keyword.line, "recursive loops are not supported");
            expect_end();
            node.body = parse_body({"else", "endfor"}, stop);
            if (stop == "else") {
                expect_end();
                node.else_body = parse_body({"endfor"}, stop);
            }
            expect_end();
        } else if (k == "set") {
            node.kind = Node::Kind::Set;
            std::string first = expect_name();
            if (accept(".")) {
                node.attribute_of = first;
                first = expect_name();
            }
            node.targets.push_back(first);
            while (accept(",")) node.targets.push_back(expect_name());
            if (accept("=")) {
                node.expr = parse_expression();
                if (accept(",")) {  // set a, b = 1, 2
                    auto tuple = make(Expr::Kind::Tuple, node.line);
                    tuple->children.push_back(std::move(node.expr));
                    do {
                        tuple->children.push_back(parse_expression());
                    } while (accept(","));
                    node.expr = std::move(tuple);
                }
                expect_end();
            } else {
                if (node.targets.size() != 1 || !node.attribute_of.empty()) fail(node.line, "a block set assigns one name");
                expect_end();
                node.body = parse_body({"endset"}, stop);
                expect_end();
            }
        } else if (k == "macro") {
            node.kind = Node::Kind::Macro;
            node.name = expect_name();
            expect("(");
            if (!accept(")")) {
                do {
                    std::string param = expect_name();
                    ExprPtr fallback;
                    if (accept("=")) fallback = parse_expression();
                    node.params.emplace_back(std::move(param), std::move(fallback));
                } while (accept(","));
                expect(")");
            }
            expect_end();
            node.body = parse_body({"endmacro"}, stop);
            expect_end();
        } else if (k == "break" || k == "continue") {
            node.kind = k == "break" ? Node::Kind::Break : Node::Kind::Continue;
            expect_end();
        } else if (k == "filter") {
            node.kind = Node::Kind::FilterBlock;
            auto filter = make(Expr::Kind::Filter, node.line);
            filter->name = expect_name();
            filter->children.push_back(make(Expr::Kind::Literal, node.line));  // stands for the block's text
            if (accept("(")) parse_arguments(*filter);
            node.expr = parse_filter_chain(std::move(filter));
            expect_end();
            node.body = parse_body({"endfilter"}, stop);
            expect_end();
        } else if (k == "generation") {
            node.kind = Node::Kind::Generation;
            expect_end();
            node.body = parse_body({"endgeneration"}, stop);
            expect_end();
        } else {
            fail(keyword.line, "unsupported statement '" + k + "'");
        }
        return node;
    }

    // Expressions, by Jinja's precedence.
    ExprPtr parse_expression() { return parse_ternary(true); }

    ExprPtr parse_ternary(bool allow_if) {
        ExprPtr value = parse_or();
        if (allow_if && accept_name("if")) {
            auto node = make(Expr::Kind::Ternary, value->line);
            node->children.push_back(std::move(value));
            node->children.push_back(parse_or());
            node->children.push_back(accept_name("else") ? parse_ternary(true) : nullptr);
            return node;
        }
        return value;
    }

    ExprPtr parse_or() {
        ExprPtr left = parse_and();
        while (accept_name("or")) left = binary("or", std::move(left), parse_and());
        return left;
    }

    ExprPtr parse_and() {
        ExprPtr left = parse_not();
        while (accept_name("and")) left = binary("and", std::move(left), parse_not());
        return left;
    }

    ExprPtr parse_not() {
        if (peek_name("not")) {
            const int line = next().line;
            auto node = make(Expr::Kind::Unary, line);
            node->name = "not";
            node->children.push_back(parse_not());
            return node;
        }
        return parse_compare();
    }

    ExprPtr parse_compare() {
        ExprPtr left = parse_math1();
        while (true) {
            const Token& t = peek();
            if (t.kind == Token::Kind::Operator && (t.text == "==" || t.text == "!=" || t.text == "<" || t.text == "<=" ||
                                                    t.text == ">" || t.text == ">=")) {
                const std::string op = next().text;
                left = binary(op, std::move(left), parse_math1());
            } else if (accept_name("in")) {
                left = binary("in", std::move(left), parse_math1());
            } else if (peek_name("not") && peek(1).kind == Token::Kind::Name && peek(1).text == "in") {
                next();
                next();
                left = binary("not in", std::move(left), parse_math1());
            } else {
                return left;
            }
        }
    }

    ExprPtr parse_math1() {
        ExprPtr left = parse_concat();
        while (peek_op("+") || peek_op("-")) {
            const std::string op = next().text;
            left = binary(op, std::move(left), parse_concat());
        }
        return left;
    }

    ExprPtr parse_concat() {
        ExprPtr left = parse_math2();
        while (accept("~")) left = binary("~", std::move(left), parse_math2());
        return left;
    }

    ExprPtr parse_math2() {
        ExprPtr left = parse_pow();
        while (peek_op("*") || peek_op("/") || peek_op("//") || peek_op("%")) {
            const std::string op = next().text;
            left = binary(op, std::move(left), parse_pow());
        }
        return left;
    }

    ExprPtr parse_pow() {
        ExprPtr left = parse_unary(true);
        while (accept("**")) left = binary("**", std::move(left), parse_unary(true));
        return left;
    }

    ExprPtr parse_unary(bool with_filter) {
        ExprPtr node;
        if (peek_op("-") || peek_op("+")) {
            const Token& t = next();
            node = make(Expr::Kind::Unary, t.line);
            node->name = t.text;
            node->children.push_back(parse_unary(false));
        } else {
            node = parse_postfix(parse_primary());
        }
        if (with_filter) return parse_filter_chain(std::move(node));
        return node;
    }

    ExprPtr parse_primary() {
        if (++depth_ > kMaxNesting) fail(current_line(), "expressions nest deeper than " + std::to_string(kMaxNesting));
        const Token& t = next();
        ExprPtr node;
        switch (t.kind) {
            case Token::Kind::Name:
                if (t.text == "true" || t.text == "True" || t.text == "false" || t.text == "False") {
                    node = make(Expr::Kind::Literal, t.line);
                    node->literal = Value::from(t.text[0] == 't' || t.text[0] == 'T');
                } else if (t.text == "none" || t.text == "None") {
                    node = make(Expr::Kind::Literal, t.line);
                    node->literal = Value::none();
                } else {
                    node = make(Expr::Kind::Name, t.line);
                    node->name = t.text;
                }
                break;
            case Token::Kind::String: {
                std::string text = t.text;
                while (peek().kind == Token::Kind::String) text += next().text;  // adjacent strings join
                node = make(Expr::Kind::Literal, t.line);
                node->literal = Value::from(std::move(text));
                break;
            }
            case Token::Kind::Integer:
                node = make(Expr::Kind::Literal, t.line);
                node->literal = Value::from(static_cast<int64_t>(std::strtoll(t.text.c_str(), nullptr, 10)));
                break;
            case Token::Kind::Float:
                node = make(Expr::Kind::Literal, t.line);
                node->literal = Value::from(std::strtod(t.text.c_str(), nullptr));
                break;
            case Token::Kind::Operator:
                if (t.text == "(") {
                    if (accept(")")) {
                        node = make(Expr::Kind::Tuple, t.line);
                        break;
                    }
                    ExprPtr inner = parse_expression();
                    if (accept(",")) {
                        node = make(Expr::Kind::Tuple, t.line);
                        node->children.push_back(std::move(inner));
                        while (!peek_op(")")) {
                            node->children.push_back(parse_expression());
                            if (!accept(",")) break;
                        }
                    } else {
                        node = std::move(inner);
                    }
                    expect(")");
                    break;
                }
                if (t.text == "[") {
                    node = make(Expr::Kind::List, t.line);
                    while (!peek_op("]")) {
                        node->children.push_back(parse_expression());
                        if (!accept(",")) break;
                    }
                    expect("]");
                    break;
                }
                if (t.text == "{") {
                    node = make(Expr::Kind::Dict, t.line);
                    while (!peek_op("}")) {
                        node->children.push_back(parse_expression());
                        expect(":");
                        node->children.push_back(parse_expression());
                        if (!accept(",")) break;
                    }
                    expect("}");
                    break;
                }
                [[fallthrough]];
            default: fail(t.line, t.kind == Token::Kind::End ? "an expression is missing" : "unexpected '" + t.text + "'");
        }
        --depth_;
        return node;
    }

    ExprPtr parse_postfix(ExprPtr node) {
        while (true) {
            if (accept(".")) {
                const Token& t = next();
                if (t.kind != Token::Kind::Name && t.kind != Token::Kind::Integer) fail(t.line, "expected an attribute name after '.'");
                auto attr = make(Expr::Kind::Attribute, t.line);
                attr->name = t.text;
                attr->children.push_back(std::move(node));
                node = std::move(attr);
            } else if (peek_op("[")) {
                const int line = next().line;
                ExprPtr parts[3];
                bool slice = false;
                for (int i = 0; i < 3; ++i) {
                    if (!peek_op(":") && !peek_op("]")) parts[i] = parse_expression();
                    if (i < 2 && accept(":")) slice = true;
                    else break;
                }
                expect("]");
                auto sub = make(slice ? Expr::Kind::Slice : Expr::Kind::Subscript, line);
                sub->children.push_back(std::move(node));
                if (!slice && !parts[0]) fail(line, "an empty subscript");
                sub->children.push_back(std::move(parts[0]));
                if (slice) {
                    sub->children.push_back(std::move(parts[1]));
                    sub->children.push_back(std::move(parts[2]));
                }
                node = std::move(sub);
            } else if (peek_op("(")) {
                auto call = make(Expr::Kind::Call, next().line);
                call->children.push_back(std::move(node));
                parse_arguments(*call);
                node = std::move(call);
            } else {
                return node;
            }
        }
    }

    // After '(': positional and keyword arguments up to ')'.
    void parse_arguments(Expr& call) {
        while (!peek_op(")")) {
            if (peek().kind == Token::Kind::Name && peek(1).kind == Token::Kind::Operator && peek(1).text == "=") {
                std::string key = next().text;
                next();
                call.keywords.emplace_back(std::move(key), parse_expression());
            } else {
                call.children.push_back(parse_expression());
            }
            if (!accept(",")) break;
        }
        expect(")");
    }

    ExprPtr parse_filter_chain(ExprPtr node) {
        while (true) {
            if (accept("|")) {
                auto filter = make(Expr::Kind::Filter, peek().line);
                filter->name = expect_name();
                while (accept(".")) filter->name += "." + expect_name();
                filter->children.push_back(std::move(node));
                if (accept("(")) parse_arguments(*filter);
                node = std::move(filter);
            } else if (accept_name("is")) {
                auto test = make(Expr::Kind::Test, peek().line);
                test->negated = accept_name("not");
                test->name = expect_name();
                test->children.push_back(std::move(node));
                if (accept("(")) {
                    parse_arguments(*test);
                } else {
                    const Token& t = peek();
                    const bool starts_argument = (t.kind == Token::Kind::Name && t.text != "else" && t.text != "or" && t.text != "and" &&
                                                  t.text != "if" && t.text != "in" && t.text != "is" && t.text != "not") ||
                                                 t.kind == Token::Kind::String || t.kind == Token::Kind::Integer ||
                                                 t.kind == Token::Kind::Float || (t.kind == Token::Kind::Operator && (t.text == "[" || t.text == "{"));
                    if (starts_argument) test->children.push_back(parse_postfix(parse_primary()));
                }
                node = std::move(test);
            } else {
                return node;
            }
        }
    }

    // Token helpers.
    const Token& peek(size_t ahead = 0) const {
        const size_t i = std::min(at_ + ahead, tokens_->size() - 1);
        return (*tokens_)[i];
    }
    const Token& next() {
        const Token& t = peek();
        if (at_ < tokens_->size() - 1) ++at_;
        return t;
    }
    bool peek_op(const char* op) const { return peek().kind == Token::Kind::Operator && peek().text == op; }
    bool peek_name(const char* name) const { return peek().kind == Token::Kind::Name && peek().text == name; }
    bool accept(const char* op) {
        if (!peek_op(op)) return false;
        next();
        return true;
    }
    bool accept_name(const char* name) {
        if (!peek_name(name)) return false;
        next();
        return true;
    }
    void expect(const char* op) {
        if (!accept(op)) fail(peek().line, std::string("expected '") + op + "'" + found());
    }
    std::string expect_name() {
        if (peek().kind != Token::Kind::Name) fail(peek().line, "expected a name" + found());
        return next().text;
    }
    void expect_end() {
        if (peek().kind != Token::Kind::End) fail(peek().line, "unexpected '" + peek().text + "' at the end of a tag");
    }
    std::string found() const { return peek().kind == Token::Kind::End ? " before the end of the tag" : ", found '" + peek().text + "'"; }
    int current_line() const { return tokens_ ? peek().line : 0; }
    int last_line() const { return pieces_.empty() ? 1 : pieces_.back().line; }

    static Node make_node(Node::Kind kind, int line) {
        Node n;
        n.kind = kind;
        n.line = line;
        return n;
    }
    static ExprPtr make(Expr::Kind kind, int line) {
        auto e = std::make_unique<Expr>();
        e->kind = kind;
        e->line = line;
        return e;
    }
    static ExprPtr binary(const std::string& op, ExprPtr left, ExprPtr right) {
        auto e = make(Expr::Kind::Binary, left->line);
        e->name = op;
        e->children.push_back(std::move(left));
        e->children.push_back(std::move(right));
        return e;
    }

    std::vector<Piece> pieces_;
    size_t index_ = 0;
    const std::vector<Token>* tokens_ = nullptr;
    size_t at_ = 0;
    int depth_ = 0;
};

}  // namespace

Body parse(const std::string& source) {
    Lexer lexer(source);
    Parser parser(lexer.run());
    return parser.parse_template();
}

}  // namespace rockllm::jinja
