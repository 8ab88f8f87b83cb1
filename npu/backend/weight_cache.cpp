#include "npu/backend/weight_cache.h"

#include <cstring>

#include "base/atomic_file.h"
#include "npu/regcmd.h"

namespace rockllm::npu {

namespace {

constexpr char kMagic[8] = {'R', 'K', 'L', 'L', 'M', 'N', 'P', 'U'};
constexpr uint32_t kFileVersion = 1;
constexpr size_t kAlignment = 64;
constexpr size_t kNameBytes = 96;
constexpr size_t kDigestBytes = 80;

size_t scales_bytes(MatmulType type, int64_t rows) { return type == MatmulType::Int8 ? static_cast<size_t>(rows) * 4 : 0; }

}  // namespace

// The file's header and table entries. Outside the anonymous namespace because the writer's Impl
// holds them, in a namespace of their own so no other file's Header can be taken for them.
namespace weight_cache_file {
struct Header {
    char magic[8];
    uint32_t file_version, converter_version, type, reserved;
    uint64_t table_offset, entry_count;
    char digest[kDigestBytes];
};
struct TableEntry {
    char name[kNameBytes];
    int64_t rows, cols;
    uint64_t scales_offset, data_offset, checksum;
};
static_assert(sizeof(Header) == 120 && sizeof(TableEntry) == 136);
}  // namespace weight_cache_file
using weight_cache_file::Header;
using weight_cache_file::TableEntry;

uint64_t checksum64(const uint8_t* data, size_t size, uint64_t seed) {
    // A word-at-a-time multiply-xorshift hash: fast enough to check a gigabyte at load, and any
    // changed byte changes it (it is against damage, not against an attacker who can write here).
    uint64_t h = seed ^ 0x9E3779B97F4A7C15ull ^ size;
    size_t i = 0;
    for (; i + 8 <= size; i += 8) {
        uint64_t w;
        std::memcpy(&w, data + i, 8);
        h = (h ^ w) * 0xFF51AFD7ED558CCDull;
        h ^= h >> 29;
    }
    for (; i < size; ++i) h = (h ^ data[i]) * 0x100000001B3ull;
    h ^= h >> 32;
    return h;
}

std::filesystem::path weight_cache_path(const std::filesystem::path& dir, const std::string& digest, MatmulType type) {
    return dir / (digest + (type == MatmulType::Int8 ? ".int8" : ".fp16") + ".v" + std::to_string(kConverterVersion) + ".npuw");
}

std::unique_ptr<WeightCacheReader> WeightCacheReader::open(const std::filesystem::path& path, const std::string& digest, MatmulType type,
                                                           std::string& why_not) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
        why_not = "no cached conversion";
        return nullptr;
    }
    std::unique_ptr<WeightCacheReader> r;
    try {
        r.reset(new WeightCacheReader(path));
    } catch (const std::exception& e) {
        why_not = e.what();
        return nullptr;
    }
    const auto bytes = r->file_.bytes();
    const auto bad = [&](const std::string& why) {
        why_not = "the cached conversion " + path.filename().string() + " is not usable (" + why + ")";
        return nullptr;
    };
    // The header is a trailer: the writer knows where the table is only at the end.
    if (bytes.size() < sizeof(Header)) return bad("too short");
    Header h;
    std::memcpy(&h, bytes.data() + bytes.size() - sizeof h, sizeof h);
    const size_t body = bytes.size() - sizeof h;
    if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0 || h.file_version != kFileVersion) return bad("not a weight cache of this version");
    if (h.converter_version != kConverterVersion) return bad("made by converter version " + std::to_string(h.converter_version));
    if (h.type != static_cast<uint32_t>(type)) return bad("another NPU type");
    if (std::string(h.digest, strnlen(h.digest, kDigestBytes)) != digest) return bad("made from another model file");
    if (h.table_offset > body || h.entry_count > (body - h.table_offset) / sizeof(TableEntry))
        return bad("its table lies outside the file");
    r->type_ = type;
    for (uint64_t i = 0; i < h.entry_count; ++i) {
        TableEntry e;
        std::memcpy(&e, bytes.data() + h.table_offset + i * sizeof e, sizeof e);
        if (e.rows <= 0 || e.cols <= 0 || e.rows > (int64_t{1} << 24) || e.cols > (int64_t{1} << 24)) return bad("a matrix of impossible size");
        const size_t data_bytes = static_cast<size_t>(e.rows) * static_cast<size_t>(e.cols) * input_bytes(type);
        const size_t s_bytes = scales_bytes(type, e.rows);
        if (e.data_offset > body || data_bytes > body - e.data_offset || e.scales_offset > body || s_bytes > body - e.scales_offset ||
            e.data_offset % kAlignment || e.scales_offset % 4)
            return bad("a matrix lies outside the file");
        const uint64_t sum = checksum64(bytes.data() + e.data_offset, data_bytes, checksum64(bytes.data() + e.scales_offset, s_bytes));
        if (sum != e.checksum) return bad("a checksum does not match: the file is damaged");
        e.name[kNameBytes - 1] = 0;
        r->entries_.push_back({e.name, e.rows, e.cols, reinterpret_cast<const float*>(bytes.data() + e.scales_offset),
                               bytes.data() + e.data_offset});
    }
    return r;
}

std::optional<NpuMatrix> WeightCacheReader::find(const std::string& name, int64_t rows, int64_t cols) const {
    for (const Entry& e : entries_)
        if (e.name == name) {
            if (e.rows != rows || e.cols != cols) return std::nullopt;
            NpuMatrix m;
            m.type = type_;
            m.rows = rows;
            m.cols = cols;
            m.scales = type_ == MatmulType::Int8 ? e.scales : nullptr;
            m.data = e.data;
            return m;
        }
    return std::nullopt;
}

struct WeightCacheWriter::Impl {
    AtomicFileWriter file;
    Header header{};
    std::vector<TableEntry> table;
    uint64_t offset = 0;
    MatmulType type;

    Impl(const std::filesystem::path& path, MatmulType t) : file(path), type(t) {}
    void put(const void* data, size_t size) {
        file.write(data, size);
        offset += size;
    }
    void pad() {
        static const uint8_t zeros[kAlignment] = {};
        if (offset % kAlignment) put(zeros, kAlignment - offset % kAlignment);
    }
};

WeightCacheWriter::WeightCacheWriter(const std::filesystem::path& path, const std::string& digest, MatmulType type)
    : impl_(std::make_unique<Impl>(path, type)) {
    if (digest.size() >= kDigestBytes) throw NpuError("a digest too long for the weight cache");
    Header& h = impl_->header;
    std::memcpy(h.magic, kMagic, sizeof kMagic);
    h.file_version = kFileVersion;
    h.converter_version = kConverterVersion;
    h.type = static_cast<uint32_t>(type);
    std::memcpy(h.digest, digest.data(), digest.size());
}

WeightCacheWriter::~WeightCacheWriter() = default;

void WeightCacheWriter::add(const std::string& name, const NpuMatrix& m) {
    if (name.size() >= kNameBytes) throw NpuError("a matrix name too long for the weight cache: " + name);
    if (m.type != impl_->type) throw NpuError("a matrix of another type for this weight cache");
    TableEntry e{};
    std::memcpy(e.name, name.data(), name.size());
    e.rows = m.rows;
    e.cols = m.cols;
    const size_t s_bytes = scales_bytes(m.type, m.rows);
    impl_->pad();
    e.scales_offset = impl_->offset;
    if (s_bytes) impl_->put(m.scales, s_bytes);
    impl_->pad();
    e.data_offset = impl_->offset;
    impl_->put(m.data, m.data_bytes());
    e.checksum = checksum64(m.data, m.data_bytes(), checksum64(reinterpret_cast<const uint8_t*>(m.scales), s_bytes));
    impl_->table.push_back(e);
}

void WeightCacheWriter::commit() {
    impl_->pad();
    impl_->header.table_offset = impl_->offset;
    impl_->header.entry_count = impl_->table.size();
    impl_->put(impl_->table.data(), impl_->table.size() * sizeof(TableEntry));
    impl_->put(&impl_->header, sizeof impl_->header);
    impl_->file.commit();
}

}  // namespace rockllm::npu
