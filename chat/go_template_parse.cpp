// Parsing Go templates: text and actions are split while scanning, each action is tokenised, and a
// recursive descent builds the node tree (lists end at {{end}} or {{else}}).
#include <cctype>

#include "go_template.h"
#include "go_template_ast.h"

namespace rockllm::gotmpl {

namespace {

constexpr int kMaxNesting = 100;  // nested blocks and parentheses: bounded so hostile input cannot overflow the stack

struct Token {
    enum class Kind { Identifier, Field, Dot, Variable, Literal, LeftParen, RightParen, Pipe, Declare, Assign, Comma } kind;
    std::string text;
    nlohmann::json value;   // Literal
    bool attached = false;  // no space before it: ".A.B" and "$x.A" chain fields
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool is_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

class Parser {
public:
    explicit Parser(std::string_view src) : src_(src) {}

    std::unique_ptr<Node> parse_template() {
        std::string terminator;
        auto list = parse_list(terminator, 0);
        if (!terminator.empty()) fail(last_action_, "unexpected {{" + terminator + "}}");
        return list;
    }

private:
    // The source position of an action, for messages.
    struct Where {
        size_t offset = 0;
    };

    [[noreturn]] void fail(size_t offset, const std::string& what) const {
        int line = 1, column = 1;
        for (size_t i = 0; i < offset && i < src_.size(); ++i) {
            if (src_[i] == '\n') {
                ++line;
                column = 1;
            } else {
                ++column;
            }
        }
        throw TemplateError("template: " + std::to_string(line) + ":" + std::to_string(column) + ": " + what);
    }

    void locate(size_t offset, int& line, int& column) const {
        line = 1;
        column = 1;
        for (size_t i = 0; i < offset && i < src_.size(); ++i) {
            if (src_[i] == '\n') {
                ++line;
                column = 1;
            } else {
                ++column;
            }
        }
    }

    // Parses nodes until {{end}}, {{else ...}} or the end of the text; terminator tells which
    // ("" at the end of the text; "else" leaves the rest of the else action in else_tokens_).
    std::unique_ptr<Node> parse_list(std::string& terminator, int depth) {
        if (depth > kMaxNesting) fail(pos_, "blocks nested too deeply");
        auto list = std::make_unique<Node>();
        list->kind = Node::Kind::List;
        for (;;) {
            const size_t open = src_.find("{{", pos_);
            std::string_view text = src_.substr(pos_, open == std::string_view::npos ? std::string_view::npos : open - pos_);
            if (trim_next_text_) {
                while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
                trim_next_text_ = false;
            }
            const bool trim_left = open != std::string_view::npos && open + 3 < src_.size() && src_[open + 2] == '-' && is_space(src_[open + 3]);
            if (trim_left)
                while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
            if (!text.empty()) {
                auto node = std::make_unique<Node>();
                node->kind = Node::Kind::Text;
                node->text = std::string(text);
                list->children.push_back(std::move(node));
            }
            if (open == std::string_view::npos) {
                pos_ = src_.size();
                terminator.clear();
                return list;
            }
            last_action_ = open;
            pos_ = open + (trim_left ? 4 : 2);
            std::vector<Token> tokens = lex_action();
            if (tokens.empty()) continue;  // a comment
            if (tokens[0].kind == Token::Kind::Identifier) {
                const std::string& word = tokens[0].text;
                if (word == "end") {
                    if (tokens.size() > 1) fail(open, "unexpected tokens after end");
                    terminator = "end";
                    return list;
                }
                if (word == "else") {
                    terminator = "else";
                    else_tokens_.assign(tokens.begin() + 1, tokens.end());
                    return list;
                }
                if (word == "if" || word == "range" || word == "with") {
                    list->children.push_back(parse_block(word, std::vector<Token>(tokens.begin() + 1, tokens.end()), open, depth));
                    continue;
                }
                if (word == "break" || word == "continue") {
                    if (tokens.size() > 1) fail(open, "unexpected tokens after " + word);
                    if (range_depth_ == 0) fail(open, "{{" + word + "}} outside {{range}}");
                    auto node = std::make_unique<Node>();
                    node->kind = word == "break" ? Node::Kind::Break : Node::Kind::Continue;
                    list->children.push_back(std::move(node));
                    continue;
                }
                if (word == "define" || word == "template" || word == "block")
                    fail(open, "{{" + word + "}} is not supported by this template engine");
            }
            auto node = std::make_unique<Node>();
            node->kind = Node::Kind::Action;
            node->pipeline = parse_pipeline(tokens, open, true);
            locate(open, node->line, node->column);
            list->children.push_back(std::move(node));
        }
    }

    std::unique_ptr<Node> parse_block(const std::string& word, const std::vector<Token>& tokens, size_t open, int depth) {
        auto node = std::make_unique<Node>();
        node->kind = word == "if" ? Node::Kind::If : word == "range" ? Node::Kind::Range : Node::Kind::With;
        locate(open, node->line, node->column);
        if (tokens.empty()) fail(open, "missing value for " + word);
        node->pipeline = parse_pipeline(tokens, open, true);
        if (word == "range") ++range_depth_;
        std::string terminator;
        node->body = parse_list(terminator, depth + 1);
        if (word == "range") --range_depth_;
        if (terminator.empty()) fail(open, "unexpected EOF: {{" + word + "}} has no {{end}}");
        if (terminator == "else") {
            std::vector<Token> rest = std::move(else_tokens_);
            if (!rest.empty()) {  // {{else if ...}} / {{else with ...}}: a nested block ending at the same {{end}}
                if (rest[0].kind != Token::Kind::Identifier || (rest[0].text != "if" && rest[0].text != "with"))
                    fail(last_action_, "unexpected tokens after else");
                const std::string nested = rest[0].text;
                auto otherwise = std::make_unique<Node>();
                otherwise->kind = Node::Kind::List;
                otherwise->children.push_back(parse_block(nested, std::vector<Token>(rest.begin() + 1, rest.end()), last_action_, depth + 1));
                node->otherwise = std::move(otherwise);
                return node;  // the nested block consumed the {{end}}
            }
            node->otherwise = parse_list(terminator, depth + 1);
            if (terminator != "end") fail(open, "{{" + word + "}} has no {{end}} after its {{else}}");
        }
        return node;
    }

    Pipeline parse_pipeline(const std::vector<Token>& tokens, size_t open, bool allow_declaration) {
        Pipeline p;
        locate(open, p.line, p.column);
        size_t i = 0;
        // $x := / $x = / $i, $v :=
        size_t j = 0;
        std::vector<std::string> names;
        while (j < tokens.size() && tokens[j].kind == Token::Kind::Variable) {
            names.push_back(tokens[j].text);
            ++j;
            if (j < tokens.size() && tokens[j].kind == Token::Kind::Comma) ++j;
            else break;
        }
        if (!names.empty() && j < tokens.size() && (tokens[j].kind == Token::Kind::Declare || tokens[j].kind == Token::Kind::Assign)) {
            if (!allow_declaration && tokens[j].kind == Token::Kind::Declare) fail(open, "cannot declare variables here");
            if (names.size() > 2) fail(open, "too many variables declared");
            p.variables = names;
            p.declares = tokens[j].kind == Token::Kind::Declare;
            for (const std::string& n : names)
                if (p.declares) declared_.push_back(n);
                else if (n != "$" && std::find(declared_.begin(), declared_.end(), n) == declared_.end())
                    fail(open, "undefined variable \"" + n + "\"");
            i = j + 1;
        }
        parse_commands(tokens, i, tokens.size(), p, open, 0);
        if (p.commands.empty()) fail(open, "missing value for command");
        return p;
    }

    void parse_commands(const std::vector<Token>& tokens, size_t begin, size_t end, Pipeline& p, size_t open, int depth) {
        if (depth > kMaxNesting) fail(open, "parentheses nested too deeply");
        Command command;
        size_t i = begin;
        while (i < end) {
            if (tokens[i].kind == Token::Kind::Pipe) {
                if (command.args.empty()) fail(open, "missing command before |");
                p.commands.push_back(std::move(command));
                command = Command();
                ++i;
                continue;
            }
            command.args.push_back(parse_operand(tokens, i, end, open, depth));
        }
        if (command.args.empty()) {
            if (!p.commands.empty()) fail(open, "missing command after |");
            return;
        }
        p.commands.push_back(std::move(command));
    }

    Operand parse_operand(const std::vector<Token>& tokens, size_t& i, size_t end, size_t open, int depth) {
        Operand op;
        const Token& t = tokens[i];
        switch (t.kind) {
            case Token::Kind::Dot: op.kind = Operand::Kind::Dot; ++i; break;
            case Token::Kind::Field: op.kind = Operand::Kind::Dot; break;  // .A.B: fields of dot, read below
            case Token::Kind::Variable:
                op.kind = Operand::Kind::Variable;
                op.name = t.text;
                if (op.name != "$" && std::find(declared_.begin(), declared_.end(), op.name) == declared_.end())
                    fail(open, "undefined variable \"" + op.name + "\"");
                ++i;
                break;
            case Token::Kind::Literal: op.kind = Operand::Kind::Literal; op.literal = t.value; ++i; break;
            case Token::Kind::Identifier:
                if (t.text == "true" || t.text == "false") {
                    op.kind = Operand::Kind::Literal;
                    op.literal = t.text == "true";
                } else if (t.text == "nil") {
                    op.kind = Operand::Kind::Literal;
                } else {
                    if (!is_function(t.text)) fail(open, "function \"" + t.text + "\" not defined");
                    op.kind = Operand::Kind::Function;
                    op.name = t.text;
                }
                ++i;
                break;
            case Token::Kind::LeftParen: {
                int level = 1;
                size_t close = i + 1;
                for (; close < end && level > 0; ++close) {
                    if (tokens[close].kind == Token::Kind::LeftParen) ++level;
                    if (tokens[close].kind == Token::Kind::RightParen) --level;
                }
                if (level != 0) fail(open, "unclosed left paren");
                op.kind = Operand::Kind::Parenthesised;
                op.nested = std::make_shared<Pipeline>();
                parse_commands(tokens, i + 1, close - 1, *op.nested, open, depth + 1);
                if (op.nested->commands.empty()) fail(open, "missing value in parentheses");
                i = close;
                break;
            }
            default: fail(open, "unexpected \"" + t.text + "\" in command");
        }
        // Attached field accesses: .A.B, $x.A, (pipeline).A
        const bool starts_with_field = t.kind == Token::Kind::Field;
        while (i < end && tokens[i].kind == Token::Kind::Field && (tokens[i].attached || (starts_with_field && op.fields.empty()))) {
            op.fields.push_back(tokens[i].text);
            ++i;
        }
        return op;
    }

    static bool is_function(const std::string& name) {
        static const char* const names[] = {"and", "or", "not", "len", "index", "slice", "eq", "ne", "lt", "le", "gt", "ge",
                                            "print", "printf", "println", "html", "js", "urlquery", "json", "currentDate",
                                            "yesterdayDate", "toTypeScriptType"};
        return std::find(std::begin(names), std::end(names), name) != std::end(names);
    }

    // Tokens of the action starting at pos_, which is left after its "}}"; empty for a comment.
    std::vector<Token> lex_action() {
        const size_t start = pos_;
        std::vector<Token> tokens;
        bool space_before = true;
        for (;;) {
            if (pos_ >= src_.size()) fail(start, "unclosed action");
            const char c = src_[pos_];
            if (is_space(c)) {
                // " -}}" closes and trims what follows.
                if (src_.substr(pos_ + 1, 3) == "-}}") {
                    pos_ += 4;
                    trim_next_text_ = true;
                    return tokens;
                }
                ++pos_;
                space_before = true;
                continue;
            }
            if (src_.substr(pos_, 2) == "}}") {
                pos_ += 2;
                return tokens;
            }
            if (src_.substr(pos_, 2) == "/*") {
                const size_t close = src_.find("*/", pos_ + 2);
                if (close == std::string_view::npos) fail(start, "unclosed comment");
                pos_ = close + 2;
                if (!tokens.empty()) fail(start, "comment inside an action");
                continue;
            }
            Token t{Token::Kind::Identifier, "", nullptr, !space_before};
            space_before = false;
            if (c == '.' && (pos_ + 1 >= src_.size() || !is_name_char(src_[pos_ + 1]) || std::isdigit(static_cast<unsigned char>(src_[pos_ + 1])))) {
                if (pos_ + 1 < src_.size() && std::isdigit(static_cast<unsigned char>(src_[pos_ + 1]))) {
                    t = lex_number(start);
                } else {
                    t.kind = Token::Kind::Dot;
                    t.text = ".";
                    ++pos_;
                }
            } else if (c == '.') {
                const size_t b = ++pos_;
                while (pos_ < src_.size() && is_name_char(src_[pos_])) ++pos_;
                t.kind = Token::Kind::Field;
                t.text = std::string(src_.substr(b, pos_ - b));
            } else if (c == '$') {
                const size_t b = pos_++;
                while (pos_ < src_.size() && is_name_char(src_[pos_])) ++pos_;
                t.kind = Token::Kind::Variable;
                t.text = std::string(src_.substr(b, pos_ - b));
            } else if (c == '"' || c == '`') {
                t.kind = Token::Kind::Literal;
                t.value = lex_string(start);
            } else if (c == '\'') {
                t.kind = Token::Kind::Literal;
                t.value = lex_char(start);
            } else if (std::isdigit(static_cast<unsigned char>(c)) || ((c == '-' || c == '+') && pos_ + 1 < src_.size() && std::isdigit(static_cast<unsigned char>(src_[pos_ + 1])))) {
                t = lex_number(start);
            } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
                const size_t b = pos_;
                while (pos_ < src_.size() && is_name_char(src_[pos_])) ++pos_;
                t.kind = Token::Kind::Identifier;
                t.text = std::string(src_.substr(b, pos_ - b));
            } else if (c == '(') {
                t.kind = Token::Kind::LeftParen;
                t.text = "(";
                ++pos_;
            } else if (c == ')') {
                t.kind = Token::Kind::RightParen;
                t.text = ")";
                ++pos_;
            } else if (c == '|') {
                t.kind = Token::Kind::Pipe;
                t.text = "|";
                ++pos_;
            } else if (c == ',') {
                t.kind = Token::Kind::Comma;
                t.text = ",";
                ++pos_;
            } else if (src_.substr(pos_, 2) == ":=") {
                t.kind = Token::Kind::Declare;
                t.text = ":=";
                pos_ += 2;
            } else if (c == '=') {
                t.kind = Token::Kind::Assign;
                t.text = "=";
                ++pos_;
            } else {
                fail(pos_, std::string("unexpected character '") + c + "' in action");
            }
            t.attached = t.attached && (t.kind == Token::Kind::Field);
            tokens.push_back(std::move(t));
        }
    }

    Token lex_number(size_t start) {
        const size_t b = pos_;
        if (src_[pos_] == '-' || src_[pos_] == '+') ++pos_;
        bool is_float = false;
        while (pos_ < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[pos_])) || src_[pos_] == '.' || src_[pos_] == '_' ||
                                      ((src_[pos_] == '-' || src_[pos_] == '+') && (src_[pos_ - 1] == 'e' || src_[pos_ - 1] == 'E')))) {
            if (src_[pos_] == '.' || src_[pos_] == 'e' || src_[pos_] == 'E') is_float = true;
            ++pos_;
        }
        const std::string text(src_.substr(b, pos_ - b));
        Token t{Token::Kind::Literal, text, nullptr, false};
        try {
            size_t used = 0;
            if (!is_float) {
                t.value = static_cast<int64_t>(std::stoll(text, &used, 0));
            } else {
                t.value = std::stod(text, &used);
            }
            if (used != text.size()) fail(start, "bad number syntax: \"" + text + "\"");
        } catch (const std::logic_error&) {
            fail(start, "bad number syntax: \"" + text + "\"");
        }
        return t;
    }

    std::string lex_string(size_t start) {
        const char quote = src_[pos_++];
        std::string out;
        while (pos_ < src_.size() && src_[pos_] != quote) {
            char c = src_[pos_++];
            if (quote == '"' && c == '\n') fail(start, "unterminated quoted string");
            if (quote == '"' && c == '\\') {
                if (pos_ >= src_.size()) break;
                const char e = src_[pos_++];
                switch (e) {
                    case 'n': c = '\n'; break;
                    case 't': c = '\t'; break;
                    case 'r': c = '\r'; break;
                    case '\\': c = '\\'; break;
                    case '"': c = '"'; break;
                    case '\'': c = '\''; break;
                    case '0': c = '\0'; break;
                    default: fail(start, std::string("unknown escape sequence \\") + e);
                }
            }
            out += c;
        }
        if (pos_ >= src_.size()) fail(start, "unterminated quoted string");
        ++pos_;
        return out;
    }

    int64_t lex_char(size_t start) {
        ++pos_;
        if (pos_ + 1 >= src_.size()) fail(start, "unterminated character constant");
        int64_t value = static_cast<unsigned char>(src_[pos_++]);
        if (value == '\\') {
            const char e = src_[pos_++];
            value = e == 'n' ? '\n' : e == 't' ? '\t' : e;
        }
        if (pos_ >= src_.size() || src_[pos_] != '\'') fail(start, "unterminated character constant");
        ++pos_;
        return value;
    }

    std::string_view src_;
    size_t pos_ = 0;
    size_t last_action_ = 0;
    bool trim_next_text_ = false;
    int range_depth_ = 0;
    std::vector<Token> else_tokens_;
    std::vector<std::string> declared_;  // variables declared so far (Go checks scope; this is looser)
};

}  // namespace

Template::Template() = default;
Template::~Template() = default;
Template::Template(Template&&) noexcept = default;
Template& Template::operator=(Template&&) noexcept = default;

Template Template::parse(std::string_view text) {
    Template t;
    t.root_ = Parser(text).parse_template();
    return t;
}

}  // namespace rockllm::gotmpl
