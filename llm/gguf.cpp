#include "gguf.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "base/mapped_file.h"

namespace rockllm::gguf {

const char* value_type_name(ValueType type) {
    switch (type) {
        case ValueType::UInt8: return "uint8";
        case ValueType::Int8: return "int8";
        case ValueType::UInt16: return "uint16";
        case ValueType::Int16: return "int16";
        case ValueType::UInt32: return "uint32";
        case ValueType::Int32: return "int32";
        case ValueType::Float32: return "float32";
        case ValueType::Bool: return "bool";
        case ValueType::String: return "string";
        case ValueType::Array: return "array";
        case ValueType::UInt64: return "uint64";
        case ValueType::Int64: return "int64";
        case ValueType::Float64: return "float64";
    }
    return "unknown";
}

ValueType Value::type() const {
    // The variant's alternatives are listed in the order of the file's type ids.
    return static_cast<ValueType>(data.index());
}

int64_t TensorInfo::element_count() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;  // the parser guarantees that this does not overflow
    return n;
}

const Value* Metadata::find(std::string_view key) const {
    auto it = index_.find(std::string(key));
    return it == index_.end() ? nullptr : &entries_[it->second].second;
}

bool Metadata::set(std::string key, Value value) {
    auto it = index_.find(key);
    if (it != index_.end()) {
        entries_[it->second].second = std::move(value);
        return true;
    }
    index_.emplace(key, entries_.size());
    entries_.emplace_back(std::move(key), std::move(value));
    return false;
}

namespace {

// Bounds-checked little-endian reader over the file's bytes.
class Cursor {
public:
    explicit Cursor(std::span<const uint8_t> bytes) : bytes_(bytes) {}

    uint64_t position() const { return pos_; }
    uint64_t remaining() const { return bytes_.size() - pos_; }

    [[noreturn]] void fail(const std::string& field, const std::string& problem, uint64_t at) const {
        throw FormatError("GGUF: " + field + " at offset " + std::to_string(at) + ": " + problem);
    }

    void need(uint64_t n, const std::string& field) const {
        if (n > remaining())
            fail(field, "needs " + std::to_string(n) + " bytes but the file has only " +
                            std::to_string(remaining()) + " left (truncated?)",
                 pos_);
    }

    template <class T>
    T read(const std::string& field) {
        static_assert(std::endian::native == std::endian::little, "GGUF reader assumes a little-endian host");
        need(sizeof(T), field);
        T value;
        std::memcpy(&value, bytes_.data() + pos_, sizeof(T));
        pos_ += sizeof(T);
        return value;
    }

    std::string read_string(const std::string& field, uint64_t max_length) {
        const uint64_t at = pos_;
        const uint64_t length = read<uint64_t>(field + " length");
        if (length > max_length)
            fail(field, "string length " + std::to_string(length) + " exceeds the limit of " +
                            std::to_string(max_length),
                 at);
        need(length, field);
        std::string s(reinterpret_cast<const char*>(bytes_.data() + pos_), length);
        pos_ += length;
        return s;
    }

private:
    std::span<const uint8_t> bytes_;
    uint64_t pos_ = 0;
};

// Smallest encoding of one value of each type; used to reject counts the file cannot hold
// before allocating anything for them.
uint64_t min_encoded_size(ValueType type) {
    switch (type) {
        case ValueType::UInt8: case ValueType::Int8: case ValueType::Bool: return 1;
        case ValueType::UInt16: case ValueType::Int16: return 2;
        case ValueType::UInt32: case ValueType::Int32: case ValueType::Float32: return 4;
        case ValueType::UInt64: case ValueType::Int64: case ValueType::Float64: return 8;
        case ValueType::String: return 8;
        case ValueType::Array: return 12;
    }
    return 1;
}

constexpr uint64_t kMaxStringBytes = uint64_t{1} << 30;

ValueType read_value_type(Cursor& in, const std::string& field) {
    const uint64_t at = in.position();
    const uint32_t raw = in.read<uint32_t>(field);
    if (raw > static_cast<uint32_t>(ValueType::Float64))
        in.fail(field, "unknown value type " + std::to_string(raw), at);
    return static_cast<ValueType>(raw);
}

Value read_value(Cursor& in, ValueType type, const std::string& field, int depth) {
    switch (type) {
        case ValueType::UInt8: return in.read<uint8_t>(field);
        case ValueType::Int8: return in.read<int8_t>(field);
        case ValueType::UInt16: return in.read<uint16_t>(field);
        case ValueType::Int16: return in.read<int16_t>(field);
        case ValueType::UInt32: return in.read<uint32_t>(field);
        case ValueType::Int32: return in.read<int32_t>(field);
        case ValueType::Float32: return in.read<float>(field);
        case ValueType::UInt64: return in.read<uint64_t>(field);
        case ValueType::Int64: return in.read<int64_t>(field);
        case ValueType::Float64: return in.read<double>(field);
        case ValueType::Bool: {
            const uint64_t at = in.position();
            const uint8_t b = in.read<uint8_t>(field);
            if (b > 1) in.fail(field, "bool value " + std::to_string(b) + " is neither 0 nor 1", at);
            return b == 1;
        }
        case ValueType::String: return in.read_string(field, kMaxStringBytes);
        case ValueType::Array: {
            const uint64_t at = in.position();
            if (depth >= kMaxArrayNesting)
                in.fail(field, "arrays nested deeper than " + std::to_string(kMaxArrayNesting), at);
            Array array;
            array.element_type = read_value_type(in, field + " element type");
            const uint64_t count_at = in.position();
            const uint64_t count = in.read<uint64_t>(field + " element count");
            if (count > in.remaining() / min_encoded_size(array.element_type))
                in.fail(field, "array of " + std::to_string(count) + " " +
                                   value_type_name(array.element_type) +
                                   " elements cannot fit in the " + std::to_string(in.remaining()) +
                                   " bytes left",
                        count_at);
            array.items.reserve(count);
            const std::string element_field = field + " element";
            for (uint64_t i = 0; i < count; ++i)
                array.items.push_back(read_value(in, array.element_type, element_field, depth + 1));
            return array;
        }
    }
    in.fail(field, "unknown value type", in.position());
}

bool checked_mul(uint64_t a, uint64_t b, uint64_t& out) { return !__builtin_mul_overflow(a, b, &out); }

}  // namespace

File File::open(const std::string& path) {
    auto mapping = std::make_shared<MappedFile>(path);
    File file;
    file.bytes_ = mapping->bytes();
    file.mapping_ = mapping.get();
    file.storage_ = std::move(mapping);
    try {
        file.parse_bytes();
    } catch (const FormatError& e) {
        throw FormatError(path + ": " + e.what());
    }
    return file;
}

void File::release_pages(const uint8_t* begin, size_t size) const {
    if (mapping_) mapping_->release_pages(begin, size);
}

File File::parse(std::vector<uint8_t> bytes) {
    auto buffer = std::make_shared<std::vector<uint8_t>>(std::move(bytes));
    File file;
    file.bytes_ = std::span<const uint8_t>(buffer->data(), buffer->size());
    file.storage_ = std::move(buffer);
    file.parse_bytes();
    return file;
}

const TensorInfo* File::find_tensor(std::string_view name) const {
    auto it = tensor_index_.find(std::string(name));
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

void File::parse_bytes() {
    Cursor in(bytes_);

    const uint32_t magic = in.read<uint32_t>("magic");
    if (magic != kMagic) in.fail("magic", "not a GGUF file (the first four bytes are not 'GGUF')", 0);

    version_ = in.read<uint32_t>("version");
    if (version_ == 1) in.fail("version", "GGUF version 1 is obsolete and not supported", 4);
    if (version_ != 2 && version_ != 3) {
        if (__builtin_bswap32(version_) == 2 || __builtin_bswap32(version_) == 3)
            in.fail("version", "big-endian GGUF files are not supported", 4);
        in.fail("version", "unsupported GGUF version " + std::to_string(version_), 4);
    }

    const uint64_t tensor_count_at = in.position();
    const uint64_t tensor_count = in.read<uint64_t>("tensor count");
    const uint64_t kv_count_at = in.position();
    const uint64_t kv_count = in.read<uint64_t>("metadata count");
    // Smallest tensor info: name length, 1-byte name, n_dims, one dimension, type, offset.
    constexpr uint64_t kMinTensorInfoBytes = 8 + 1 + 4 + 8 + 4 + 8;
    // Smallest key/value: key length, 1-byte key, value type, 1-byte value.
    constexpr uint64_t kMinKeyValueBytes = 8 + 1 + 4 + 1;
    if (kv_count > in.remaining() / kMinKeyValueBytes)
        in.fail("metadata count", std::to_string(kv_count) + " entries cannot fit in the file", kv_count_at);
    if (tensor_count > in.remaining() / kMinTensorInfoBytes)
        in.fail("tensor count", std::to_string(tensor_count) + " tensors cannot fit in the file",
                tensor_count_at);

    for (uint64_t i = 0; i < kv_count; ++i) {
        const uint64_t at = in.position();
        const std::string field = "metadata entry " + std::to_string(i);
        std::string key = in.read_string(field + " key", 65535);
        if (key.empty()) in.fail(field + " key", "empty key", at);
        const std::string value_field = "metadata '" + key + "'";
        const ValueType type = read_value_type(in, value_field + " type");
        Value value = read_value(in, type, value_field, 0);
        if (metadata_.contains(key)) in.fail(field + " key", "duplicate key '" + key + "'", at);
        metadata_.set(std::move(key), std::move(value));
    }

    if (const Value* alignment = metadata_.find("general.alignment")) {
        auto* a = std::get_if<uint32_t>(&alignment->data);
        if (!a) throw FormatError("GGUF: metadata 'general.alignment' must be uint32, not " +
                                  std::string(value_type_name(alignment->type())));
        if (*a == 0 || !std::has_single_bit(*a))
            throw FormatError("GGUF: metadata 'general.alignment' = " + std::to_string(*a) +
                              " is not a power of two");
        alignment_ = *a;
    }

    tensors_.reserve(tensor_count);
    for (uint64_t i = 0; i < tensor_count; ++i) {
        const std::string field = "tensor info " + std::to_string(i);
        TensorInfo t;
        const uint64_t name_at = in.position();
        t.name = in.read_string(field + " name", 65535);
        if (t.name.empty() || t.name.size() > kMaxTensorNameBytes)
            in.fail(field + " name", "tensor name length " + std::to_string(t.name.size()) +
                                         " is outside 1.." + std::to_string(kMaxTensorNameBytes),
                    name_at);
        const std::string tensor_field = "tensor '" + t.name + "'";
        const uint64_t dims_at = in.position();
        const uint32_t n_dims = in.read<uint32_t>(tensor_field + " n_dims");
        if (n_dims == 0 || n_dims > kMaxDims)
            in.fail(tensor_field + " n_dims", std::to_string(n_dims) + " dimensions (1.." +
                                                  std::to_string(kMaxDims) + " allowed)",
                    dims_at);
        uint64_t elements = 1;
        for (uint32_t d = 0; d < n_dims; ++d) {
            const uint64_t dim_at = in.position();
            const uint64_t dim = in.read<uint64_t>(tensor_field + " dimension");
            if (dim > static_cast<uint64_t>(INT64_MAX) || !checked_mul(elements, dim, elements) ||
                elements > static_cast<uint64_t>(INT64_MAX))
                in.fail(tensor_field + " dimension " + std::to_string(d),
                        "size " + std::to_string(dim) + " overflows the element count", dim_at);
            t.shape.push_back(static_cast<int64_t>(dim));
        }
        const uint64_t type_at = in.position();
        const uint32_t type_id = in.read<uint32_t>(tensor_field + " type");
        const GgmlTypeInfo* type = find_ggml_type(type_id);
        if (!type) in.fail(tensor_field + " type", "unknown tensor type id " + std::to_string(type_id), type_at);
        t.type = type->type;
        if (t.shape[0] % type->block_size != 0)
            in.fail(tensor_field + " dimension 0",
                    "row length " + std::to_string(t.shape[0]) + " is not a multiple of the " + type->name +
                        " block size " + std::to_string(type->block_size),
                    dims_at);
        // elements is a multiple of block_size (because shape[0] is), so this is exact.
        if (!checked_mul(elements / type->block_size, type->block_bytes, t.size_bytes))
            in.fail(tensor_field, "byte size overflows", dims_at);
        const uint64_t offset_at = in.position();
        t.offset = in.read<uint64_t>(tensor_field + " offset");
        if (t.offset % alignment_ != 0)
            in.fail(tensor_field + " offset", "offset " + std::to_string(t.offset) +
                                                  " is not a multiple of the alignment " +
                                                  std::to_string(alignment_),
                    offset_at);
        if (tensor_index_.count(t.name)) in.fail(field + " name", "duplicate tensor name '" + t.name + "'", name_at);
        tensor_index_.emplace(t.name, tensors_.size());
        tensors_.push_back(std::move(t));
    }

    // The data section starts at the next multiple of the alignment.
    const uint64_t header_end = in.position();
    const uint64_t padding = (alignment_ - header_end % alignment_) % alignment_;
    data_offset_ = header_end + padding;
    if (tensors_.empty()) return;  // vocabulary-only files may end right after the header
    if (data_offset_ > bytes_.size())
        in.fail("data section", "the file ends before the data section (truncated?)", header_end);
    const uint64_t data_size = bytes_.size() - data_offset_;

    // Every tensor must lie inside the data section, and no two may overlap.
    std::vector<const TensorInfo*> by_offset;
    by_offset.reserve(tensors_.size());
    for (TensorInfo& t : tensors_) {
        if (t.offset > data_size || t.size_bytes > data_size - t.offset)
            throw FormatError("GGUF: tensor '" + t.name + "' data [" + std::to_string(t.offset) + ", +" +
                              std::to_string(t.size_bytes) + ") lies past the end of the data section (" +
                              std::to_string(data_size) + " bytes; truncated?)");
        t.data = bytes_.data() + data_offset_ + t.offset;
        by_offset.push_back(&t);
    }
    std::sort(by_offset.begin(), by_offset.end(),
              [](const TensorInfo* a, const TensorInfo* b) { return a->offset < b->offset; });
    for (size_t i = 1; i < by_offset.size(); ++i) {
        const TensorInfo& prev = *by_offset[i - 1];
        const TensorInfo& next = *by_offset[i];
        if (prev.size_bytes > 0 && next.size_bytes > 0 && prev.offset + prev.size_bytes > next.offset)
            throw FormatError("GGUF: tensors '" + prev.name + "' and '" + next.name + "' overlap in the data section");
    }
}

}  // namespace rockllm::gguf
