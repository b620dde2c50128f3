#include "app/http_api.hpp"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "core/text.hpp"
#include "store/migrations.hpp"
#include "store/sha256.hpp"

namespace markerwatch::app {

namespace http = boost::beast::http;

namespace {

std::shared_ptr<spdlog::logger> log() {
  static auto logger = spdlog::default_logger()->clone("http");
  return logger;
}

net::HttpResponse json_response(unsigned status, const nlohmann::ordered_json& body) {
  net::HttpResponse r{static_cast<http::status>(status), 11};
  r.set(http::field::content_type, "application/json");
  r.set(http::field::cache_control, "no-store");
  r.body() = body.dump() + "\n";
  return r;
}

// Routes that need no token: they hold no patient data.
bool is_public(std::string_view target) {
  return target == "/healthz" || target == "/readyz";
}

struct Route {
  std::string_view path;
  settings::Role role;
};
constexpr Route kRoutes[] = {{"/metrics", settings::Role::read}};

std::string_view sv(boost::beast::string_view v) {
  return {v.data(), v.size()};
}

std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}

}  // namespace

const settings::HttpToken* authenticate(const settings::HttpSettings& http,
                                        std::string_view authorization) {
  constexpr std::string_view kScheme = "Bearer ";
  if (authorization.size() <= kScheme.size() ||
      !text::iequals(authorization.substr(0, kScheme.size()), kScheme))
    return nullptr;
  auto token = text::trim(authorization.substr(kScheme.size()));
  if (token.empty() || token.size() > 512) return nullptr;
  const auto hash = store::sha256_hex(token);
  const settings::HttpToken* found = nullptr;
  // Every entry is compared, in constant time, so timing tells nothing about which one matched.
  for (const auto& t : http.tokens)
    if (t.sha256.size() == hash.size() &&
        CRYPTO_memcmp(t.sha256.data(), hash.data(), hash.size()) == 0)
      found = &t;
  return found;
}

net::HttpResponse problem(unsigned status, std::string_view detail) {
  const auto code = static_cast<http::status>(status);
  nlohmann::ordered_json body = {{"type", "about:blank"},
                                 {"title", std::string(http::obsolete_reason(code))},
                                 {"status", status},
                                 {"detail", std::string(detail)}};
  net::HttpResponse r{code, 11};
  r.set(http::field::content_type, "application/problem+json");
  r.set(http::field::cache_control, "no-store");
  if (status == 401) r.set(http::field::www_authenticate, "Bearer realm=\"markerwatch\"");
  r.body() = body.dump() + "\n";
  return r;
}

ApiHandler::ApiHandler(const settings::Settings& settings, StatusSources sources)
    : settings_(settings), sources_(std::move(sources)) {}

net::HttpResponse ApiHandler::error_response(unsigned status, std::string_view detail) {
  count(status);
  return problem(status, detail);
}

void ApiHandler::count(unsigned status) {
  std::lock_guard lock(counts_mutex_);
  ++responses_[status];
}

void ApiHandler::on_request(net::HttpRequest request, const std::string& peer, Respond respond) {
  net::HttpResponse response;
  try {
    response = handle(request, peer);
  } catch (const std::exception& e) {
    log()->error("event=request_failed peer={} target=\"{}\" error=\"{}\"", peer,
                 text::printable(sv(request.target()), 200), text::printable(e.what(), 200));
    response = problem(500, "the request could not be processed; see the daemon's log");
  }
  count(response.result_int());
  respond(std::move(response));
}

net::HttpResponse ApiHandler::handle(const net::HttpRequest& request, const std::string& peer) {
  const auto path = path_of(sv(request.target()));
  const bool read_only =
      request.method() == http::verb::get || request.method() == http::verb::head;
  if (is_public(path)) {
    if (!read_only) return problem(405, "only GET is allowed here");
    if (path == "/healthz") return json_response(200, {{"status", "ok"}});
    return readyz();
  }
  const auto* token = authenticate(settings_.http, sv(request[http::field::authorization]));
  if (!token) {
    log()->info("event=request_unauthorized peer={} target=\"{}\"", peer,
                text::printable(path, 200));
    return problem(401, "a valid bearer token is required (Authorization: Bearer <token>)");
  }
  for (const auto& route : kRoutes) {
    if (route.path != path) continue;
    if ((token->roles & static_cast<unsigned>(route.role)) == 0) {
      log()->info("event=request_forbidden peer={} token={} target=\"{}\" needs={}", peer,
                  token->name, text::printable(path, 200), settings::to_string(route.role));
      return problem(403, "token '" + token->name + "' lacks the role '" +
                              std::string(settings::to_string(route.role)) + "'");
    }
    if (!read_only) return problem(405, "only GET is allowed here");
    return metrics();
  }
  return problem(404, "no such resource: " + text::printable(path, 200));
}

net::HttpResponse ApiHandler::readyz() {
  if (stopping_) return problem(503, "markerwatchd is stopping");
  try {
    std::lock_guard lock(db_mutex_);
    if (!db_) {
      store::OpenOptions options;
      options.read_only = true;
      db_.emplace(settings_.storage.path, options);
    }
    store::check_schema_version(*db_);
  } catch (const std::exception& e) {
    db_.reset();
    return problem(503, std::string("the database does not answer: ") + e.what());
  }
  return json_response(200, {{"status", "ready"}});
}

net::HttpResponse ApiHandler::metrics() {
  std::ostringstream out;
  auto family = [&](const char* name, const char* type, const char* help) {
    out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
  };
  family("markerwatch_build_info", "gauge", "Version of markerwatchd.");
  out << "markerwatch_build_info{version=\"" << MARKERWATCH_VERSION << "\"} 1\n";
  std::string last_family;
  auto emit = [&](const std::string& series, auto value, const char* type) {
    const auto name = series.substr(0, series.find('{'));
    if (name != last_family) {
      out << "# TYPE " << name << " " << type << "\n";
      last_family = name;
    }
    out << series << " " << value << "\n";
  };
  if (sources_.counters)
    for (const auto& [series, value] : sources_.counters()) emit(series, value, "counter");
  if (sources_.gauges)
    for (const auto& [series, value] : sources_.gauges()) emit(series, value, "gauge");
  {
    std::lock_guard lock(counts_mutex_);
    for (const auto& [status, n] : responses_)
      emit("markerwatch_http_responses_total{code=\"" + std::to_string(status) + "\"}", n,
           "counter");
  }
  {
    std::lock_guard lock(db_mutex_);
    if (!db_) {
      store::OpenOptions options;
      options.read_only = true;
      db_.emplace(settings_.storage.path, options);
    }
    auto alerts = db_->prepare("SELECT state, severity, count(*) FROM alerts GROUP BY 1, 2");
    while (alerts.step())
      emit("markerwatch_alerts{state=\"" + alerts.text(0) + "\",severity=\"" + alerts.text(1) +
               "\"}",
           alerts.int64(2), "gauge");
    auto deliveries = db_->prepare("SELECT state, count(*) FROM deliveries GROUP BY 1");
    while (deliveries.step())
      emit("markerwatch_deliveries{state=\"" + deliveries.text(0) + "\"}", deliveries.int64(1),
           "gauge");
  }
  net::HttpResponse r{http::status::ok, 11};
  r.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
  r.set(http::field::cache_control, "no-store");
  r.body() = out.str();
  return r;
}

}  // namespace markerwatch::app
