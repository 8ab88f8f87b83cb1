// SHA-256 digests (through OpenSSL's libcrypto), as Ollama's content-addressed store names blobs.
#pragma once

#include <string>
#include <string_view>

namespace rockllm {

// Lower-case hex digest of the bytes.
std::string sha256_hex(std::string_view bytes);
// Of a whole file, read in chunks; throws std::runtime_error when it cannot be read.
std::string sha256_file_hex(const std::string& path);

}  // namespace rockllm
