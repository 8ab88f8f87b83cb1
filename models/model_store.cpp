#include "models/model_store.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "models/sha256.h"

namespace rockllm {

namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read '" + path.string() + "'");
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

Layer parse_layer(const nlohmann::json& j) {
    Layer l;
    l.media_type = j.at("mediaType").get<std::string>();
    l.digest = j.at("digest").get<std::string>();
    l.size = j.at("size").get<int64_t>();
    l.from = j.value("from", "");
    if (!is_valid_digest(l.digest)) throw std::runtime_error("layer digest '" + l.digest + "' is not a sha256 digest");
    if (l.size < 0) throw std::runtime_error("layer size is negative");
    return l;
}

// Directory entries, in a stable order.
std::vector<fs::path> children(const fs::path& dir, bool directories) {
    std::vector<fs::path> out;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        std::error_code type_ec;
        const bool is_dir = it->is_directory(type_ec);
        if (!type_ec && is_dir == directories && !it->is_symlink(type_ec)) out.push_back(it->path());
    }
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

bool is_valid_digest(const std::string& digest) {
    if (digest.size() != 71 || digest.compare(0, 6, "sha256") != 0 || (digest[6] != ':' && digest[6] != '-'))
        return false;
    return std::all_of(digest.begin() + 7, digest.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

int64_t Manifest::total_size() const {
    int64_t total = config.size;
    for (const Layer& l : layers) total += l.size;
    return total;
}

const Layer* Manifest::first(const char* media_type) const {
    for (const Layer& l : layers)
        if (l.media_type == media_type) return &l;
    return nullptr;
}

Manifest parse_manifest(const std::string& bytes) {
    try {
        const nlohmann::json j = nlohmann::json::parse(bytes);
        Manifest m;
        if (j.value("schemaVersion", 0) != 2) throw std::runtime_error("schemaVersion is not 2");
        m.config = parse_layer(j.at("config"));
        for (const auto& layer : j.at("layers")) m.layers.push_back(parse_layer(layer));
        m.digest = "sha256:" + sha256_hex(bytes);
        return m;
    } catch (const nlohmann::json::exception& e) {
        throw std::runtime_error(std::string("invalid manifest: ") + e.what());
    }
}

ModelStore::ModelStore(fs::path root) : root_(std::move(root)) {}

fs::path ModelStore::blob_path(const std::string& digest) const {
    if (!is_valid_digest(digest)) throw std::invalid_argument("invalid digest '" + digest + "'");
    return root_ / "blobs" / ("sha256-" + digest.substr(7));
}

fs::path ModelStore::manifest_path(const ModelName& n) const {
    // Parts of a parsed name are validated: no separators, never "." or "..".
    return root_ / "manifests" / n.host / n.name_space / n.model / n.tag;
}

std::vector<StoredModel> ModelStore::list() const {
    std::vector<StoredModel> out;
    // Exactly four levels under manifests/: host, namespace, model, tag.
    for (const fs::path& host : children(root_ / "manifests", true))
        for (const fs::path& ns : children(host, true))
            for (const fs::path& model : children(ns, true))
                for (const fs::path& tag : children(model, false)) {
                    try {
                        StoredModel m;
                        m.name = ModelName::parse(host.filename().string() + "/" + ns.filename().string() + "/" +
                                                  model.filename().string() + ":" + tag.filename().string());
                        m.manifest = parse_manifest(read_file(tag));
                        m.modified = fs::last_write_time(tag);
                        out.push_back(std::move(m));
                    } catch (const std::exception&) {
                        // Not a model we can read (a stray file, a foreign name, a broken manifest).
                    }
                }
    std::sort(out.begin(), out.end(), [](const StoredModel& a, const StoredModel& b) { return a.name.display() < b.name.display(); });
    return out;
}

std::optional<StoredModel> ModelStore::find(const ModelName& name) const {
    for (StoredModel& m : list())
        if (m.name.same_as(name)) return std::move(m);
    return std::nullopt;
}

}  // namespace rockllm
