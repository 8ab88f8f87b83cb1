#include "models/model_store.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cctype>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/ascii.h"
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
    if (!j.at("size").is_number_integer()) throw std::runtime_error("layer size is not an integer");
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

std::string serialize_manifest(const Manifest& m) {
    auto layer_json = [](const Layer& l) {
        nlohmann::ordered_json j = {{"mediaType", l.media_type}, {"digest", l.digest}, {"size", l.size}};
        if (!l.from.empty()) j["from"] = l.from;
        return j;
    };
    nlohmann::ordered_json j = {{"schemaVersion", 2},
                                {"mediaType", "application/vnd.docker.distribution.manifest.v2+json"},
                                {"config", layer_json(m.config)},
                                {"layers", nlohmann::ordered_json::array()}};
    for (const Layer& l : m.layers) j["layers"].push_back(layer_json(l));
    return j.dump();
}

BlobWriter::BlobWriter(fs::path final_path, std::string expected_digest)
    : expected_digest_(std::move(expected_digest)), file_(std::move(final_path)) {}

void BlobWriter::write(const void* data, size_t size) {
    hash_.update(data, size);
    file_.write(data, size);
    written_ += static_cast<int64_t>(size);
}

void BlobWriter::commit() {
    const std::string actual = "sha256:" + hash_.hex();
    std::string expected = expected_digest_;
    expected[6] = ':';
    expected = ascii_lower(expected);
    if (actual != expected) {
        file_.abandon();
        throw DigestMismatch("digest mismatch, expected \"" + expected + "\", got \"" + actual + "\"");
    }
    file_.commit();
}

ModelStore::ModelStore(fs::path root) : root_(std::move(root)) {}

std::string digest_hex(const std::string& digest) {
    if (!is_valid_digest(digest)) throw std::invalid_argument("invalid digest '" + digest + "'");
    return ascii_lower(digest.substr(7));
}

fs::path ModelStore::blob_path(const std::string& digest) const { return root_ / "blobs" / ("sha256-" + digest_hex(digest)); }

bool ModelStore::has_blob(const std::string& digest) const {
    std::error_code ec;
    return fs::is_regular_file(blob_path(digest), ec);
}

std::unique_ptr<BlobWriter> ModelStore::begin_blob(const std::string& digest) const {
    return std::make_unique<BlobWriter>(blob_path(digest), digest);
}

std::string ModelStore::write_blob(std::string_view bytes) const {
    const std::string digest = "sha256:" + sha256_hex(bytes);
    if (has_blob(digest)) return digest;
    auto writer = begin_blob(digest);
    writer->write(bytes.data(), bytes.size());
    writer->commit();
    return digest;
}

void ModelStore::write_manifest(const ModelName& name, const std::string& bytes) const {
    write_file_atomically(manifest_path(stored_spelling(name)), bytes);
}

fs::path ModelStore::new_temporary_blob_path() const {
    static std::atomic<uint64_t> counter{0};
    return root_ / "blobs" / (".tmp-made-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
}

std::string ModelStore::adopt_blob(const fs::path& file) const {
    const std::string digest = "sha256:" + sha256_file_hex(file.string());
    std::error_code ec;
    if (has_blob(digest)) {
        fs::remove(file, ec);
    } else {
        fs::rename(file, blob_path(digest), ec);
        if (ec) {
            const std::string why = ec.message();
            fs::remove(file, ec);
            throw std::runtime_error("cannot move '" + file.string() + "' into the store: " + why);
        }
    }
    return digest;
}

ModelName ModelStore::stored_spelling(const ModelName& name) const {
    ModelName out = name;
    fs::path dir = root_ / "manifests";
    for (std::string* part : {&out.host, &out.name_space, &out.model, &out.tag}) {
        std::error_code ec;
        if (!fs::exists(dir / *part, ec))
            for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec))
                if (const std::string existing = entry.path().filename().string(); ascii_lower(existing) == ascii_lower(*part)) {
                    *part = existing;
                    break;
                }
        dir /= *part;
    }
    return out;
}

void ModelStore::copy(const StoredModel& source, const ModelName& destination) const {
    replace_manifest(destination, read_file(manifest_path(source.name)));
}

BlobPin::BlobPin(std::shared_ptr<BlobPins> pins, std::vector<std::string> hexes) : pins_(std::move(pins)), hexes_(std::move(hexes)) {
    std::lock_guard lock(pins_->mutex);
    pins_->hexes.insert(hexes_.begin(), hexes_.end());
}

BlobPin::~BlobPin() {
    std::lock_guard lock(pins_->mutex);
    for (const std::string& hex : hexes_) pins_->hexes.erase(pins_->hexes.find(hex));
}

std::unique_ptr<BlobPin> ModelStore::pin(const std::vector<std::string>& digests) const {
    std::vector<std::string> hexes;
    for (const std::string& d : digests) hexes.push_back(digest_hex(d));
    return std::make_unique<BlobPin>(pins_, std::move(hexes));
}

namespace {

// The hex digests of every blob the models reference.
std::set<std::string> referenced_blobs(const std::vector<StoredModel>& models) {
    std::set<std::string> hexes;
    for (const StoredModel& m : models) {
        hexes.insert(digest_hex(m.manifest.config.digest));
        for (const Layer& l : m.manifest.layers) hexes.insert(digest_hex(l.digest));
    }
    return hexes;
}

}  // namespace

int64_t ModelStore::remove_blob(const std::string& hex) const {
    const std::string blob_name = "sha256-" + hex;
    std::error_code ec;
    const auto size = fs::file_size(root_ / "blobs" / blob_name, ec);
    if (!fs::remove(root_ / "blobs" / blob_name, ec)) return -1;
    // What was derived from the blob (named "<blob file name>.<what>") goes with it.
    for (fs::directory_iterator it(derived_dir(), ec), end; !ec && it != end; it.increment(ec))
        if (it->path().filename().string().rfind(blob_name + ".", 0) == 0) fs::remove(it->path(), ec);
    return static_cast<int64_t>(size);
}

void ModelStore::remove_unreferenced(const Manifest& manifest) const {
    std::lock_guard lock(pins_->mutex);
    const std::set<std::string> used = referenced_blobs(list());
    std::set<std::string> candidates = {digest_hex(manifest.config.digest)};
    for (const Layer& l : manifest.layers) candidates.insert(digest_hex(l.digest));
    for (const std::string& hex : candidates)
        if (!used.count(hex) && !pins_->hexes.count(hex)) remove_blob(hex);
}

void ModelStore::replace_manifest(const ModelName& name, const std::string& bytes) const {
    const std::optional<StoredModel> previous = find(name);
    write_manifest(name, bytes);
    if (previous) remove_unreferenced(previous->manifest);
}

void ModelStore::remove(const StoredModel& model) const {
    const fs::path path = manifest_path(model.name);
    std::error_code ec;
    if (!fs::remove(path, ec) && ec) throw std::runtime_error("cannot remove '" + path.string() + "': " + ec.message());
    remove_unreferenced(model.manifest);

    // Empty tag, model, namespace and host directories go; manifests/ itself stays.
    for (fs::path dir = path.parent_path(); dir != root_ / "manifests" && dir.has_parent_path(); dir = dir.parent_path())
        if (!fs::remove(dir, ec)) break;  // not empty (or gone): stop climbing
}

int ModelStore::remove_stale_temporaries(std::chrono::seconds min_temporary_age) const {
    int removed = 0;
    std::error_code ec;
    const auto now = fs::file_time_type::clock::now();
    for (const fs::path& top : {root_ / "blobs", root_ / "manifests", derived_dir()}) {
        for (fs::recursive_directory_iterator it(top, ec), end; !ec && it != end; it.increment(ec)) {
            std::error_code entry_ec;
            const std::string name = it->path().filename().string();
            const bool temporary = name.rfind(".tmp-", 0) == 0, partial = name.rfind(".partial-", 0) == 0;
            if (!it->is_regular_file(entry_ec) || !(temporary || partial)) continue;
            const auto cutoff = now - (partial ? std::chrono::seconds(std::chrono::hours(24)) : min_temporary_age);
            if (fs::last_write_time(it->path(), entry_ec) <= cutoff && fs::remove(it->path(), entry_ec)) ++removed;
        }
        ec.clear();
    }
    return removed;
}

fs::path ModelStore::manifest_path(const ModelName& n) const {
    // Parts of a parsed name are validated: no separators, never "." or "..".
    return root_ / "manifests" / n.host / n.name_space / n.model / n.tag;
}

StoreSweep ModelStore::sweep_at_start(bool prune_blobs) const {
    StoreSweep sweep;
    sweep.temporaries = remove_stale_temporaries(std::chrono::seconds(0));
    if (!prune_blobs) {
        sweep.blobs_skipped = "OLLAMA_NOPRUNE is set";
        return sweep;
    }
    int unreadable = 0;
    std::lock_guard lock(pins_->mutex);
    const std::set<std::string> used = referenced_blobs(scan(&unreadable));
    if (unreadable > 0) {
        sweep.blobs_skipped = std::to_string(unreadable) + " manifest(s) cannot be read; re-pull or delete them";
        return sweep;
    }
    const auto cutoff = fs::file_time_type::clock::now() - std::chrono::hours(1);
    std::error_code ec;
    for (const fs::path& file : children(root_ / "blobs", false)) {
        const std::string name = file.filename().string();
        // Only our blob files (lower-case hex), not Ollama's partial downloads or foreign names.
        if (!is_valid_digest(name) || name.compare(7, std::string::npos, digest_hex(name)) != 0) continue;
        const std::string hex = name.substr(7);
        if (used.count(hex) || pins_->hexes.count(hex) || fs::last_write_time(file, ec) > cutoff || ec) continue;
        if (const int64_t size = remove_blob(hex); size >= 0) {
            ++sweep.blobs;
            sweep.blob_bytes += size;
        }
    }
    // Files derived from blobs that are gone (a blob removed by hand, or by Ollama).
    for (const fs::path& file : children(derived_dir(), false)) {
        const std::string name = file.filename().string();
        if (name.rfind("sha256-", 0) == 0 && name.size() > 72 && name[71] == '.' && !fs::exists(root_ / "blobs" / name.substr(0, 71), ec))
            fs::remove(file, ec);
    }
    return sweep;
}

std::unique_ptr<StoreLock> StoreLock::try_acquire(const fs::path& root) {
    std::error_code ec;
    fs::create_directories(root / "blobs", ec);
    const int fd = ::open((root / "blobs").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return nullptr;
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        ::close(fd);
        return nullptr;
    }
    return std::unique_ptr<StoreLock>(new StoreLock(fd));
}

StoreLock::~StoreLock() { ::close(fd_); }

std::vector<StoredModel> ModelStore::list() const { return scan(nullptr); }

std::vector<StoredModel> ModelStore::scan(int* unreadable) const {
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
                        if (unreadable) ++*unreadable;
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
