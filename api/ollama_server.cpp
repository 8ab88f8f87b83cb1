#include "api/ollama_server.h"

#include <cstdio>
#include <cstdlib>

#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <nlohmann/json.hpp>

#include "api/connection_gate.h"
#include "api/http_json.h"

namespace rockllm {

namespace {

constexpr const char* kVersion = "0.33.0";  // the Ollama API version whose behaviour we follow
constexpr int kHttpThreads = 256;  // connections served at once (threads start as needed); waiting happens in the scheduler
// How long a client may take to send a request's head (real clients send it in one packet).
constexpr std::chrono::seconds kHeadDeadline{10};
// JSON bodies are read whole into memory (RouteTable counts them as they are inflated); blobs
// stream to disk and are not limited here.
constexpr uint64_t kMaxJsonBody = RouteTable::kMaxJsonBody;

// A body that would be read into memory must announce its length and stay under the limit; the
// check runs on the headers, before any of the body is read. A POST that announces no body has
// none (cpp-httplib would otherwise read until the client closes the connection).
bool body_acceptable(const httplib::Request& req, httplib::Response& res) {
    if (req.path.rfind("/api/blobs/", 0) == 0) return true;
    const bool has_body = req.method == "POST" || req.method == "DELETE";
    if (has_body && !req.has_header("Content-Length") && !req.has_header("Transfer-Encoding")) {
        send_json(res, 400, {{"error", "missing request body"}});
        return false;
    }
    if (req.has_header("Content-Length")) {
        const std::string text = req.get_header_value("Content-Length");
        const uint64_t length = std::strtoull(text.c_str(), nullptr, 10);
        if (length <= kMaxJsonBody) return true;
        send_json(res, 413, {{"error", "request body too large (" + text + " bytes; the limit is " + std::to_string(kMaxJsonBody) + ")"}});
        return false;
    }
    if (req.get_header_value("Transfer-Encoding").find("chunked") != std::string::npos) {
        send_json(res, 411, {{"error", "a request body needs a Content-Length (chunked bodies are accepted only for blob uploads)"}});
        return false;
    }
    return true;
}

}  // namespace

OllamaServer::OllamaServer(ModelStore store, ServerOptions options)
    : options_(std::move(options)), access_(options_.host, options_.origins), context_(std::move(store), options_.scheduler), http_(std::make_unique<httplib::Server>()) {
    httplib::Server& s = *http_;
    // Every connection waits for its request head in the gate, threadless, and serves one request.
    s.new_task_queue = [this] { return new ConnectionGate(bound_port_, kHttpThreads, kHeadDeadline); };
    s.set_keep_alive_max_count(1);
    s.set_socket_options([this](int sock) {
        httplib::default_socket_options(sock);
        listening_socket_ = sock;
    });
    s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
        if (!access_.host_allowed(req.get_header_value("Host"))) {
            res.status = 403;
            return httplib::Server::HandlerResponse::Handled;
        }
        const std::string origin = req.get_header_value("Origin");
        if (!origin.empty()) {
            if (!access_.origin_allowed(origin)) {
                res.status = 403;
                return httplib::Server::HandlerResponse::Handled;
            }
            res.set_header("Access-Control-Allow-Origin", access_.any_origin() ? "*" : origin);
            res.set_header("Vary", "Origin");
        }
        if (!body_acceptable(req, res)) return httplib::Server::HandlerResponse::Handled;
        if (req.method == "OPTIONS") {  // a CORS preflight
            res.set_header("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS");
            res.set_header("Access-Control-Allow-Headers", kCorsAllowedHeaders);
            res.set_header("Access-Control-Max-Age", "43200");
            res.status = 204;
            return httplib::Server::HandlerResponse::Handled;
        }
        return httplib::Server::HandlerResponse::Unhandled;
    });
    if (options_.debug)
        s.set_logger([](const httplib::Request& req, const httplib::Response& res) {
            std::fprintf(stderr, "rockllm: %s | %d | %s | %s \"%s\"\n", rfc3339_now().c_str(), res.status, req.remote_addr.c_str(),
                         req.method.c_str(), req.path.c_str());
        });
    routes_.get("/", [](const httplib::Request&, httplib::Response& res) { res.set_content("Ollama is running", "text/plain; charset=utf-8"); });
    routes_.get("/api/version", [](const httplib::Request&, httplib::Response& res) { send_json(res, 200, {{"version", kVersion}}); });
    // Ollama's cloud switch: rockllm has no cloud models, so it is always off, by no setting.
    routes_.get("/api/status", [](const httplib::Request&, httplib::Response& res) {
        send_json(res, 200, {{"cloud", {{"disabled", true}, {"source", "none"}}}});
    });
    register_model_routes(routes_, context_);
    register_inference_routes(routes_, context_);
    register_openai_routes(routes_, context_);
    register_anthropic_routes(routes_, context_);
    register_npu_routes(routes_, context_);
    context_.cpu_reason = options_.cpu_reason;
    // Unknown routes: gin's plain-text 404, or 405 when the path exists for another method.
    s.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
        if (res.status != 404 || !res.body.empty()) return;
        if (routes_.knows(req.path)) {
            res.status = 405;
            res.set_content("405 method not allowed", "text/plain");
        } else {
            res.set_content("404 page not found", "text/plain");
        }
    });
}

OllamaServer::~OllamaServer() { http_.reset(); }

bool OllamaServer::listen(const std::function<void()>& on_listening) {
    if (!http_->bind_to_port(options_.host, options_.port)) return false;
    // cpp-httplib listens with a backlog of 5: connections beyond it would be refused under load.
    ::listen(listening_socket_, SOMAXCONN);
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    bound_port_ = options_.port;
    if (getsockname(listening_socket_, reinterpret_cast<sockaddr*>(&address), &length) == 0)
        bound_port_ = ntohs(address.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6&>(address).sin6_port
                                                          : reinterpret_cast<sockaddr_in&>(address).sin_port);
    if (on_listening) on_listening();
    return http_->listen_after_bind();
}

bool OllamaServer::responsive(std::chrono::milliseconds within) { return context_.scheduler.responsive(within); }

std::string OllamaServer::status_line() const {
    std::string line = "listening on ";
    line.append(options_.host).append(":").append(std::to_string(options_.port));
    const auto running = context_.scheduler.running();
    if (running.empty()) return line + "; no model loaded";
    line += "; loaded:";
    for (const auto& r : running) line.append(" ").append(r.stored.name.display());
    return line;
}

void OllamaServer::stop() {
    context_.scheduler.begin_shutdown();  // running generations end, their streams get a last line
    http_->stop();
}

}  // namespace rockllm
