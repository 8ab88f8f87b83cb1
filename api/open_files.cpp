#include "api/open_files.h"

#include <cstdlib>

#include <dirent.h>

namespace rockllm {

void for_each_open_fd(const std::function<bool(int fd)>& visit) {
    DIR* fds = opendir("/proc/self/fd");
    if (!fds) return;
    while (const dirent* entry = readdir(fds)) {
        char* end = nullptr;
        const long fd = std::strtol(entry->d_name, &end, 10);
        if (end == entry->d_name || *end != '\0' || fd == dirfd(fds)) continue;
        if (!visit(static_cast<int>(fd))) break;
    }
    closedir(fds);
}

}  // namespace rockllm
