#include "api/client_connection.h"

#include "api/open_files.h"

#include <cerrno>
#include <cstdlib>
#include <string>

#include <netdb.h>
#include <sys/socket.h>

namespace rockllm {

namespace {

// The numeric host and port of a socket address, as cpp-httplib writes remote_addr/remote_port.
bool host_and_port(const sockaddr_storage& address, socklen_t length, std::string& host, int& port) {
    char h[NI_MAXHOST], p[NI_MAXSERV];
    if (getnameinfo(reinterpret_cast<const sockaddr*>(&address), length, h, sizeof h, p, sizeof p, NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        return false;
    host = h;
    port = std::atoi(p);
    return true;
}

bool is_connection_of(int fd, const httplib::Request& req) {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    std::string host;
    int port = -1;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0 || !host_and_port(address, length, host, port) ||
        host != req.remote_addr || port != req.remote_port)
        return false;
    length = sizeof address;
    return getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0 && host_and_port(address, length, host, port) &&
           port == req.local_port;
}

// The socket of the request's connection among the process's open files, or -1.
int find_connection(const httplib::Request& req) {
    int found = -1;
    for_each_open_fd([&](int fd) {
        if (is_connection_of(fd, req)) found = fd;
        return found < 0;
    });
    return found;
}

}  // namespace

bool ClientConnection::hung_up() const {
    if (!searched_) {
        fd_ = find_connection(req_);
        searched_ = true;
    }
    if (fd_ < 0) return false;
    char byte;
    const ssize_t n = recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0) return false;  // the client already sent more (a pipelined request): still there
    if (n == 0) return true;  // it closed its end
    return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;  // reset
}

}  // namespace rockllm
