// The process's open file descriptors, for the places that must find a socket cpp-httplib 0.11
// does not hand them (client_connection.cpp, connection_gate.cpp). A descriptor may be closed by
// another thread while it is looked at; callers check what they find.
#pragma once

#include <functional>

namespace rockllm {

// Calls visit(fd) for each open descriptor (not the one the listing itself uses) until it
// returns false.
void for_each_open_fd(const std::function<bool(int fd)>& visit);

}  // namespace rockllm
