// Files that appear under their final name only when complete: data goes to a temporary file in the
// same directory, is flushed to disk, then renamed over the final name (and the directory synced),
// so a crash leaves either the old file or the new one, never half of one.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string_view>

namespace rockllm {

class AtomicFileWriter {
public:
    // Creates the parent directories and the temporary file; throws std::runtime_error on failure.
    explicit AtomicFileWriter(std::filesystem::path final_path);
    ~AtomicFileWriter();  // removes the temporary file unless committed
    AtomicFileWriter(const AtomicFileWriter&) = delete;
    AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

    void write(const void* data, size_t size);
    // fsync, rename to the final name, fsync the directory.
    void commit();
    // Gives up: the temporary file is removed, the final name untouched.
    void abandon();

private:
    std::filesystem::path final_path_, temp_path_;
    int fd_ = -1;
};

void write_file_atomically(const std::filesystem::path& path, std::string_view bytes);

}  // namespace rockllm
