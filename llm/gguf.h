// GGUF reader: parses the header, metadata and tensor directory of a (possibly hostile) file and
// gives typed access to metadata and zero-copy access to tensor data in the mapping.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ggml_type.h"
#include "gguf_value.h"

namespace rockllm {
class MappedFile;
}

namespace rockllm::gguf {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian uint32
constexpr uint32_t kDefaultAlignment = 32;
constexpr uint32_t kMaxDims = 4;
constexpr size_t kMaxTensorNameBytes = 63;  // ggml's GGML_MAX_NAME is 64 including the NUL
constexpr int kMaxArrayNesting = 8;

// Every parse failure: the message names the field and the byte offset where it was read.
class FormatError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct TensorInfo {
    std::string name;
    GgmlType type = GgmlType::F32;
    std::vector<int64_t> shape;  // ggml order: shape[0] is the contiguous (row) dimension
    uint64_t offset = 0;         // relative to the start of the data section
    uint64_t size_bytes = 0;
    const uint8_t* data = nullptr;  // points into the file's bytes

    int64_t element_count() const;
};

class Metadata {
public:
    using Entry = std::pair<std::string, Value>;

    const Value* find(std::string_view key) const;
    bool contains(std::string_view key) const { return find(key) != nullptr; }
    const std::vector<Entry>& entries() const { return entries_; }

    // Throws FormatError when the key is missing or its value does not convert to T.
    template <class T>
    T get(std::string_view key) const;
    // The fallback when the key is missing; throws FormatError when present with the wrong type.
    template <class T>
    T get_or(std::string_view key, T fallback) const;

    // Replaces an existing value, keeping the key's position. Returns false for a new key.
    bool set(std::string key, Value value);

private:
    std::vector<Entry> entries_;
    std::unordered_map<std::string, size_t> index_;
};

class File {
public:
    // Maps the file and parses it. Throws FormatError (bad content) or std::runtime_error (I/O).
    static File open(const std::string& path);
    // Parses bytes held in memory (tests, fuzzing, uploads).
    static File parse(std::vector<uint8_t> bytes);

    uint32_t version() const { return version_; }
    uint32_t alignment() const { return alignment_; }
    uint64_t data_offset() const { return data_offset_; }
    const Metadata& metadata() const { return metadata_; }
    const std::vector<TensorInfo>& tensors() const { return tensors_; }
    const TensorInfo* find_tensor(std::string_view name) const;
    std::span<const uint8_t> bytes() const { return bytes_; }
    // The bytes are not needed for now (weights the engine copied into another layout): a mapped
    // file gives back their memory, and they are read from the file again if used; a no-op for
    // bytes held in memory.
    void release_pages(const uint8_t* begin, size_t size) const;

private:
    File() = default;
    void parse_bytes();

    std::shared_ptr<const void> storage_;  // the mapping or the in-memory buffer
    const MappedFile* mapping_ = nullptr;   // the mapping, when the bytes are one
    std::span<const uint8_t> bytes_;
    uint32_t version_ = 0;
    uint32_t alignment_ = kDefaultAlignment;
    uint64_t data_offset_ = 0;
    Metadata metadata_;
    std::vector<TensorInfo> tensors_;
    std::unordered_map<std::string, size_t> tensor_index_;
};

template <class T>
T Metadata::get(std::string_view key) const {
    const Value* value = find(key);
    if (!value) throw FormatError("GGUF metadata key '" + std::string(key) + "' is missing");
    auto converted = convert<T>(*value);
    if (!converted)
        throw FormatError("GGUF metadata key '" + std::string(key) + "' has type " +
                          value_type_name(value->type()) + ", which does not hold the expected value");
    return std::move(*converted);
}

template <class T>
T Metadata::get_or(std::string_view key, T fallback) const {
    if (!contains(key)) return fallback;
    return get<T>(key);
}

}  // namespace rockllm::gguf
