// Converted weights kept on disk, so that loading a model a second time does not convert it again.
// One file per model blob and NPU type, named by the blob's digest and the converter version;
// it holds each placed matrix (int8 rows with their scales, or fp16 rows) with a checksum. A file
// is used only when its header names the same digest, type and converter version and every
// checksum matches; anything else is a miss and the file is written anew (atomically).
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/mapped_file.h"
#include "npu/backend/npu_weights.h"

namespace rockllm::npu {

// Bump when the conversion changes what it produces (rounding, layout, scales).
constexpr uint32_t kConverterVersion = 1;

// <dir>/<digest>.<int8|fp16>.v<converter version>.npuw
std::filesystem::path weight_cache_path(const std::filesystem::path& dir, const std::string& digest, MatmulType type);

class WeightCacheReader {
public:
    // nullptr, with the reason in why_not, when there is no usable cache file.
    static std::unique_ptr<WeightCacheReader> open(const std::filesystem::path& path, const std::string& digest, MatmulType type,
                                                   std::string& why_not);
    // A view of the matrix named so (valid while the reader lives), if it has that shape.
    std::optional<NpuMatrix> find(const std::string& name, int64_t rows, int64_t cols) const;
    size_t entries() const { return entries_.size(); }

private:
    struct Entry {
        std::string name;
        int64_t rows, cols;
        const float* scales;
        const uint8_t* data;
    };
    explicit WeightCacheReader(const std::filesystem::path& path) : file_(path.string()) {}
    MappedFile file_;
    MatmulType type_ = MatmulType::Int8;
    std::vector<Entry> entries_;
};

class WeightCacheWriter {
public:
    WeightCacheWriter(const std::filesystem::path& path, const std::string& digest, MatmulType type);
    ~WeightCacheWriter();  // an uncommitted file is removed
    void add(const std::string& name, const NpuMatrix& matrix);
    void commit();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

uint64_t checksum64(const uint8_t* data, size_t size, uint64_t seed = 0);

}  // namespace rockllm::npu
