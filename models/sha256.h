// SHA-256 digests (through OpenSSL's libcrypto), as Ollama's content-addressed store names blobs.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace rockllm {

// Incremental SHA-256, for data that arrives in pieces (uploads, downloads).
class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(Sha256&&) noexcept;
    Sha256& operator=(Sha256&&) noexcept;
    void update(const void* data, size_t size);
    // Lower-case hex digest; the object is spent afterwards.
    std::string hex();

private:
    struct State;
    std::unique_ptr<State> state_;
};

// Lower-case hex digest of the bytes.
std::string sha256_hex(std::string_view bytes);
// Of a whole file, read in chunks; throws std::runtime_error when it cannot be read.
std::string sha256_file_hex(const std::string& path);

}  // namespace rockllm
