// GGUF writer: builds a version-3 file from metadata and tensors (tests and model tools use it).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "gguf.h"

namespace rockllm::gguf {

class Writer {
public:
    // Adds or replaces a metadata entry; entries keep the order of their first insertion.
    void set(std::string key, Value value);
    // data must hold exactly the bytes the type and shape require.
    void add_tensor(std::string name, GgmlType type, std::vector<int64_t> shape, std::vector<uint8_t> data);
    void add_tensor_f32(std::string name, std::vector<int64_t> shape, const std::vector<float>& values);
    // A tensor whose bytes are produced only while the file is written (large synthetic models),
    // so that at most one tensor's data is in memory at a time.
    using Producer = std::function<std::vector<uint8_t>()>;
    void add_tensor_lazy(std::string name, GgmlType type, std::vector<int64_t> shape, Producer produce);

    std::vector<uint8_t> to_bytes() const;
    // Writes to a temporary file beside path, syncs it and renames it into place.
    void write_file(const std::string& path) const;

private:
    struct Tensor {
        std::string name;
        GgmlType type;
        std::vector<int64_t> shape;
        std::vector<uint8_t> data;
        Producer produce;  // set instead of data for lazy tensors
        uint64_t size_bytes;
    };
    void check_new_tensor(const std::string& name) const;
    std::vector<uint8_t> header_bytes() const;
    std::vector<uint8_t> tensor_bytes(const Tensor& t) const;
    Metadata metadata_;
    std::vector<Tensor> tensors_;
};

uint64_t tensor_size_bytes(GgmlType type, const std::vector<int64_t>& shape);

}  // namespace rockllm::gguf
