// The server's routes, registered in one place that remembers them: a request for a known path
// with another method is a 405, an unknown path a 404, as gin answers them.
#pragma once

#include <cstdint>
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
    // A POST (or DELETE) whose JSON body the handler finds in req.body, read here whatever its
    // Content-Type (curl -d sends form-urlencoded, which cpp-httplib would cap at 8 KiB) and
    // counted as it is inflated (Content-Encoding: gzip): past kMaxJsonBody bytes the answer is 413.
    void post(const std::string& pattern, Handler handler);
    // A POST whose handler reads the body itself, as it arrives (blob uploads). A handler that
    // stops reading mid-way (a full disk) has the rest of the body read and dropped for it.
    void post_reading(const std::string& pattern, ReadingHandler handler);
    void del(const std::string& pattern, Handler handler);

    static constexpr uint64_t kMaxJsonBody = uint64_t{100} << 20;
    // What is inflated and dropped of a JSON body past kMaxJsonBody before the connection's next
    // bytes are given up on (a gzip bomb would take minutes to inflate whole).
    static constexpr uint64_t kMaxDrainedJson = uint64_t{1} << 30;

    // Whether some method has a route for this path.
    bool knows(const std::string& path) const;

private:
    void remember(const std::string& pattern);
    static ReadingHandler reading_json_body(Handler handler);

    httplib::Server& server_;
    std::vector<std::regex> patterns_;
};

}  // namespace rockllm
