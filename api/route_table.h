// The server's routes, registered in one place that remembers them: a request for a known path
// with another method is a 405, an unknown path a 404, as gin answers them.
#pragma once

#include <functional>
#include <regex>
#include <string>
#include <vector>

namespace httplib {
class ContentReader;
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace rockllm {

class RouteTable {
public:
    using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;
    using ReadingHandler = std::function<void(const httplib::Request&, httplib::Response&, const httplib::ContentReader&)>;

    explicit RouteTable(httplib::Server& server) : server_(server) {}

    // A pattern is cpp-httplib's: a path, or a regular expression whose groups are req.matches.
    // GET routes answer HEAD too (cpp-httplib's rule).
    void get(const std::string& pattern, Handler handler);
    void post(const std::string& pattern, Handler handler);
    // A POST whose handler reads the body itself, as it arrives (blob uploads).
    void post_reading(const std::string& pattern, ReadingHandler handler);
    void del(const std::string& pattern, Handler handler);

    // Whether some method has a route for this path.
    bool knows(const std::string& path) const;

private:
    void remember(const std::string& pattern);

    httplib::Server& server_;
    std::vector<std::regex> patterns_;
};

}  // namespace rockllm
