// Whether the client of a request has hung up, for handlers that answer only at the end (a
// generation with stream:false, a request waiting for a slot): Ollama stops such work when its
// client goes, and so must we, or an abandoned request holds a slot for its whole generation.
// cpp-httplib 0.11 gives a handler no access to its socket, so the connection is found among the
// process's sockets by its two ends (the request's remote and local address and port).
#pragma once

#include <httplib.h>

namespace rockllm {

class ClientConnection {
public:
    // Remembers the request; the socket is looked for at the first hung_up().
    explicit ClientConnection(const httplib::Request& req) : req_(req) {}
    ClientConnection(const ClientConnection&) = delete;
    ClientConnection& operator=(const ClientConnection&) = delete;

    // True once the peer has closed or reset the connection. A connection that was not found
    // (not a TCP socket of this process) never reads as hung up.
    bool hung_up() const;

private:
    const httplib::Request& req_;
    mutable bool searched_ = false;
    mutable int fd_ = -1;
};

}  // namespace rockllm
