#include "gguf_writer.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fcntl.h>
#include <unistd.h>

namespace rockllm::gguf {

namespace {

class ByteSink {
public:
    template <class T>
    void put(T value) {
        const size_t at = out_.size();
        out_.resize(at + sizeof(T));
        std::memcpy(out_.data() + at, &value, sizeof(T));
    }
    void put_string(const std::string& s) {
        put<uint64_t>(s.size());
        out_.insert(out_.end(), s.begin(), s.end());
    }
    void pad_to(uint64_t alignment) {
        while (out_.size() % alignment != 0) out_.push_back(0);
    }
    std::vector<uint8_t> take() { return std::move(out_); }
    size_t size() const { return out_.size(); }

private:
    std::vector<uint8_t> out_;
};

void put_value(ByteSink& out, const Value& value) {
    std::visit(
        [&out](const auto& v) {
            using V = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<V, std::string>) {
                out.put_string(v);
            } else if constexpr (std::is_same_v<V, Array>) {
                out.put<uint32_t>(static_cast<uint32_t>(v.element_type));
                out.put<uint64_t>(v.items.size());
                for (const Value& item : v.items) {
                    if (item.type() != v.element_type)
                        throw std::invalid_argument("GGUF array holds an element of the wrong type");
                    put_value(out, item);
                }
            } else if constexpr (std::is_same_v<V, bool>) {
                out.put<uint8_t>(v ? 1 : 0);
            } else {
                out.put<V>(v);
            }
        },
        value.data);
}

uint32_t alignment_of(const Metadata& metadata) {
    return metadata.get_or<uint32_t>("general.alignment", kDefaultAlignment);
}

}  // namespace

uint64_t tensor_size_bytes(GgmlType type, const std::vector<int64_t>& shape) {
    const GgmlTypeInfo& info = ggml_type_info(type);
    if (shape.empty() || shape.size() > kMaxDims) throw std::invalid_argument("tensor needs 1 to 4 dimensions");
    uint64_t elements = 1;
    for (int64_t d : shape) {
        if (d < 0 || __builtin_mul_overflow(elements, static_cast<uint64_t>(d), &elements))
            throw std::invalid_argument("tensor shape overflows");
    }
    if (shape[0] % info.block_size != 0) throw std::invalid_argument("row length is not a multiple of the block size");
    return elements / info.block_size * info.block_bytes;
}

void Writer::set(std::string key, Value value) { metadata_.set(std::move(key), std::move(value)); }

void Writer::check_new_tensor(const std::string& name) const {
    for (const Tensor& t : tensors_)
        if (t.name == name) throw std::invalid_argument("duplicate tensor name '" + name + "'");
}

void Writer::add_tensor(std::string name, GgmlType type, std::vector<int64_t> shape, std::vector<uint8_t> data) {
    const uint64_t size = tensor_size_bytes(type, shape);
    if (data.size() != size)
        throw std::invalid_argument("tensor '" + name + "' data size does not match its type and shape");
    check_new_tensor(name);
    tensors_.push_back({std::move(name), type, std::move(shape), std::move(data), nullptr, size});
}

void Writer::add_tensor_lazy(std::string name, GgmlType type, std::vector<int64_t> shape, Producer produce) {
    const uint64_t size = tensor_size_bytes(type, shape);
    check_new_tensor(name);
    tensors_.push_back({std::move(name), type, std::move(shape), {}, std::move(produce), size});
}

void Writer::add_tensor_f32(std::string name, std::vector<int64_t> shape, const std::vector<float>& values) {
    std::vector<uint8_t> bytes(values.size() * sizeof(float));
    std::memcpy(bytes.data(), values.data(), bytes.size());
    add_tensor(std::move(name), GgmlType::F32, std::move(shape), std::move(bytes));
}

std::vector<uint8_t> Writer::tensor_bytes(const Tensor& t) const {
    if (!t.produce) return t.data;
    std::vector<uint8_t> bytes = t.produce();
    if (bytes.size() != t.size_bytes)
        throw std::invalid_argument("tensor '" + t.name + "' producer returned the wrong number of bytes");
    return bytes;
}

std::vector<uint8_t> Writer::header_bytes() const {
    const uint32_t alignment = alignment_of(metadata_);
    ByteSink out;
    out.put<uint32_t>(kMagic);
    out.put<uint32_t>(3);
    out.put<uint64_t>(tensors_.size());
    out.put<uint64_t>(metadata_.entries().size());
    for (const auto& [key, value] : metadata_.entries()) {
        out.put_string(key);
        out.put<uint32_t>(static_cast<uint32_t>(value.type()));
        put_value(out, value);
    }
    uint64_t offset = 0;
    for (const Tensor& t : tensors_) {
        out.put_string(t.name);
        out.put<uint32_t>(static_cast<uint32_t>(t.shape.size()));
        for (int64_t d : t.shape) out.put<uint64_t>(static_cast<uint64_t>(d));
        out.put<uint32_t>(static_cast<uint32_t>(t.type));
        out.put<uint64_t>(offset);
        offset += (t.size_bytes + alignment - 1) / alignment * alignment;
    }
    out.pad_to(alignment);
    return out.take();
}

std::vector<uint8_t> Writer::to_bytes() const {
    const uint32_t alignment = alignment_of(metadata_);
    std::vector<uint8_t> out = header_bytes();
    for (const Tensor& t : tensors_) {
        const std::vector<uint8_t> bytes = tensor_bytes(t);
        out.insert(out.end(), bytes.begin(), bytes.end());
        out.resize((out.size() + alignment - 1) / alignment * alignment, 0);
    }
    return out;
}

namespace {

class AtomicFile {
public:
    explicit AtomicFile(std::string path) : path_(std::move(path)), temp_(path_ + ".tmp-" + std::to_string(::getpid())) {
        fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd_ < 0) throw std::runtime_error("cannot create '" + temp_ + "': " + std::strerror(errno));
    }
    ~AtomicFile() {
        if (fd_ >= 0) {
            ::close(fd_);
            ::unlink(temp_.c_str());
        }
    }
    void write(const uint8_t* data, size_t size) {
        size_t written = 0;
        while (written < size) {
            const ssize_t n = ::write(fd_, data + written, size - written);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) throw std::runtime_error("cannot write '" + temp_ + "': " + std::strerror(errno));
            written += static_cast<size_t>(n);
        }
    }
    // Syncs and renames into place; until then the final path is untouched.
    void commit() {
        const bool synced = ::fsync(fd_) == 0;
        const bool closed = ::close(fd_) == 0;
        fd_ = -1;
        if (!synced || !closed) {
            ::unlink(temp_.c_str());
            throw std::runtime_error("cannot sync '" + temp_ + "'");
        }
        if (::rename(temp_.c_str(), path_.c_str()) != 0) {
            const std::string error = std::strerror(errno);
            ::unlink(temp_.c_str());
            throw std::runtime_error("cannot rename '" + temp_ + "' to '" + path_ + "': " + error);
        }
    }

private:
    std::string path_, temp_;
    int fd_ = -1;
};

}  // namespace

void Writer::write_file(const std::string& path) const {
    const uint32_t alignment = alignment_of(metadata_);
    AtomicFile file(path);
    const std::vector<uint8_t> header = header_bytes();
    file.write(header.data(), header.size());
    const std::vector<uint8_t> zeros(alignment, 0);
    for (const Tensor& t : tensors_) {
        const std::vector<uint8_t> bytes = tensor_bytes(t);
        file.write(bytes.data(), bytes.size());
        file.write(zeros.data(), (alignment - bytes.size() % alignment) % alignment);
    }
    file.commit();
}

}  // namespace rockllm::gguf
