#include "models/sha256.h"

#include <fstream>
#include <memory>
#include <stdexcept>
#include <vector>

#include <openssl/evp.h>

namespace rockllm {

struct Sha256::State {
    std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx{EVP_MD_CTX_new(), EVP_MD_CTX_free};
};

Sha256::Sha256() : state_(std::make_unique<State>()) {
    if (!state_->ctx || EVP_DigestInit_ex(state_->ctx.get(), EVP_sha256(), nullptr) != 1)
        throw std::runtime_error("SHA-256 is not available");
}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(const void* data, size_t size) { EVP_DigestUpdate(state_->ctx.get(), data, size); }

std::string Sha256::hex() {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_DigestFinal_ex(state_->ctx.get(), out, &length);
    static const char* digits = "0123456789abcdef";
    std::string s;
    for (unsigned int i = 0; i < length; ++i) {
        s += digits[out[i] >> 4];
        s += digits[out[i] & 15];
    }
    return s;
}

std::string sha256_hex(std::string_view bytes) {
    Sha256 d;
    d.update(bytes.data(), bytes.size());
    return d.hex();
}

std::string sha256_file_hex(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read '" + path + "'");
    Sha256 d;
    std::vector<char> buffer(1 << 20);
    while (in) {
        in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        d.update(buffer.data(), static_cast<size_t>(in.gcount()));
    }
    if (in.bad()) throw std::runtime_error("error reading '" + path + "'");
    return d.hex();
}

}  // namespace rockllm
