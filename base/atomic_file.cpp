#include "base/atomic_file.h"

#include <cerrno>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>

#include <fcntl.h>
#include <unistd.h>

namespace rockllm {

namespace fs = std::filesystem;

namespace {

std::runtime_error io_error(const std::string& what, const fs::path& path) {
    return std::runtime_error(what + " '" + path.string() + "': " + std::strerror(errno));
}

void sync_directory(const fs::path& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;  // best effort: the rename itself has happened
    ::fsync(fd);
    ::close(fd);
}

}  // namespace

AtomicFileWriter::AtomicFileWriter(fs::path final_path) : final_path_(std::move(final_path)) {
    std::error_code ec;
    fs::create_directories(final_path_.parent_path(), ec);
    if (ec) throw std::runtime_error("cannot create '" + final_path_.parent_path().string() + "': " + ec.message());
    // A dot name: never mistaken for a blob or a manifest by us or by Ollama.
    std::random_device random;
    for (int attempt = 0; attempt < 16 && fd_ < 0; ++attempt) {
        temp_path_ = final_path_.parent_path() / (".tmp-" + final_path_.filename().string() + "-" + std::to_string(random()));
        fd_ = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd_ < 0 && errno != EEXIST) throw io_error("cannot create", temp_path_);
    }
    if (fd_ < 0) throw io_error("cannot create", temp_path_);
}

AtomicFileWriter::~AtomicFileWriter() { abandon(); }

void AtomicFileWriter::write(const void* data, size_t size) {
    if (fd_ < 0) throw std::logic_error("write after commit or abandon");
    const char* p = static_cast<const char*>(data);
    while (size > 0) {
        const ssize_t n = ::write(fd_, p, size);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw io_error("cannot write", temp_path_);  // e.g. ENOSPC; the destructor cleans up
        }
        p += n;
        size -= static_cast<size_t>(n);
    }
}

void AtomicFileWriter::commit() {
    if (fd_ < 0) throw std::logic_error("commit after commit or abandon");
    if (::fsync(fd_) != 0) throw io_error("cannot flush", temp_path_);
    ::close(fd_);
    fd_ = -1;
    if (::rename(temp_path_.c_str(), final_path_.c_str()) != 0) {
        const auto error = io_error("cannot rename into", final_path_);
        ::unlink(temp_path_.c_str());
        throw error;
    }
    temp_path_.clear();
    sync_directory(final_path_.parent_path());
}

void AtomicFileWriter::abandon() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    if (!temp_path_.empty()) ::unlink(temp_path_.c_str());
    temp_path_.clear();
}

void write_file_atomically(const fs::path& path, std::string_view bytes) {
    AtomicFileWriter writer(path);
    writer.write(bytes.data(), bytes.size());
    writer.commit();
}

}  // namespace rockllm
