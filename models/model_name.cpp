#include "models/model_name.h"

#include <algorithm>
#include <cctype>
#include <vector>

#include "base/ascii.h"

namespace rockllm {

namespace {

bool word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// model and tag: [A-Za-z0-9_][A-Za-z0-9_.-]*, at most 80 characters; the namespace the same without dots.
void check_part(const std::string& part, const char* what, bool dots_allowed, size_t max_length) {
    if (part.empty()) throw InvalidModelName(std::string("invalid model name: the ") + what + " is empty");
    if (part.size() > max_length)
        throw InvalidModelName(std::string("invalid model name: the ") + what + " is longer than " +
                               std::to_string(max_length) + " characters");
    if (!word_char(part[0]))
        throw InvalidModelName(std::string("invalid model name: the ") + what + " must start with a letter, digit or _");
    for (char c : part)
        if (!(word_char(c) || c == '-' || (c == '.' && dots_allowed)))
            throw InvalidModelName(std::string("invalid model name: character '") + c + "' is not allowed in the " + what);
}

// host: letters, digits, '.', '-', '_' and one ':port'; no empty labels (so never "." or "..").
void check_host(const std::string& host) {
    if (host.empty() || host.size() > 350) throw InvalidModelName("invalid model name: bad host length");
    const size_t colon = host.find(':');
    const std::string name = host.substr(0, colon);
    if (colon != std::string::npos) {
        const std::string port = host.substr(colon + 1);
        if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), ::isdigit))
            throw InvalidModelName("invalid model name: bad port in host '" + host + "'");
    }
    size_t label_start = 0;
    for (size_t i = 0; i <= name.size(); ++i) {
        if (i == name.size() || name[i] == '.') {
            if (i == label_start) throw InvalidModelName("invalid model name: empty label in host '" + host + "'");
            label_start = i + 1;
        } else if (!(word_char(name[i]) || name[i] == '-')) {
            throw InvalidModelName(std::string("invalid model name: character '") + name[i] + "' is not allowed in the host");
        }
    }
}

}  // namespace

ModelName ModelName::parse(const std::string& text) {
    if (text.empty()) throw InvalidModelName("invalid model name: empty");
    ModelName n;
    std::string path = text;
    const size_t slash = path.rfind('/');
    const size_t colon = path.rfind(':');
    if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
        n.tag = path.substr(colon + 1);
        path.resize(colon);
    }
    std::vector<std::string> parts;
    size_t start = 0;
    for (size_t i = 0; i <= path.size(); ++i) {
        if (i == path.size() || path[i] == '/') {
            parts.push_back(path.substr(start, i - start));
            start = i + 1;
        }
    }
    if (parts.size() > 3) throw InvalidModelName("invalid model name: too many '/' in '" + text + "'");
    n.model = parts.back();
    if (parts.size() >= 2) n.name_space = parts[parts.size() - 2];
    if (parts.size() == 3) n.host = parts[0];
    check_host(n.host);
    check_part(n.name_space, "namespace", /*dots_allowed=*/false, 80);
    check_part(n.model, "model", true, 80);
    check_part(n.tag, "tag", true, 80);
    return n;
}

std::string ModelName::display() const {
    std::string out;
    if (ascii_lower(host) != kDefaultHost) out = host + "/" + name_space + "/";
    else if (ascii_lower(name_space) != kDefaultNamespace) out = name_space + "/";
    return out + model + ":" + tag;
}

std::string ModelName::full() const { return host + "/" + name_space + "/" + model + ":" + tag; }

bool ModelName::same_as(const ModelName& o) const {
    return ascii_lower(host) == ascii_lower(o.host) && ascii_lower(name_space) == ascii_lower(o.name_space) && ascii_lower(model) == ascii_lower(o.model) &&
           ascii_lower(tag) == ascii_lower(o.tag);
}

}  // namespace rockllm
