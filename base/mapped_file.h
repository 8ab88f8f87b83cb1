// A read-only memory mapping of a whole file; the weights of a model are used from here directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace rockllm {

class MappedFile {
public:
    // Throws std::runtime_error naming the path and the system error.
    explicit MappedFile(const std::string& path);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    std::span<const uint8_t> bytes() const { return {data_, size_}; }
    // Drops the whole pages within [begin, begin + size) from the process's memory: read again,
    // they come back from the page cache (the mapping is private and read-only, so nothing is lost).
    void release_pages(const uint8_t* begin, size_t size) const;
    const std::string& path() const { return path_; }

private:
    std::string path_;
    const uint8_t* data_ = nullptr;
    size_t size_ = 0;
};

}  // namespace rockllm
