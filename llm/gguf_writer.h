// GGUF writer: builds a version-3 file from metadata and tensors (tests and model tools use it).
#pragma once

#include <cstdint>
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

    std::vector<uint8_t> to_bytes() const;
    // Writes to a temporary file beside path, syncs it and renames it into place.
    void write_file(const std::string& path) const;

private:
    struct Tensor {
        std::string name;
        GgmlType type;
        std::vector<int64_t> shape;
        std::vector<uint8_t> data;
    };
    Metadata metadata_;
    std::vector<Tensor> tensors_;
};

uint64_t tensor_size_bytes(GgmlType type, const std::vector<int64_t>& shape);

}  // namespace rockllm::gguf
