#include "app/http_api.hpp"

#include "app/review_assets.hpp"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <stdexcept>
#include <type_traits>

#include "chart/chart_source.hpp"
#include "core/calendar.hpp"
#include "core/errors.hpp"
#include "core/patient_choice.hpp"
#include "core/text.hpp"
#include "ingest/alert_review.hpp"
#include "logging/module_logger.hpp"
#include "net/query_string.hpp"
#include "store/alert_store.hpp"
#include "store/delivery_store.hpp"
#include "store/migrations.hpp"
#include "store/result_store.hpp"
#include "store/sha256.hpp"

namespace markerwatch::app {

namespace http = boost::beast::http;

namespace {

std::shared_ptr<spdlog::logger> log() {
  static auto logger = logging::module_logger("api");
  return logger;
}

// Bodies quote what clients sent; a byte that is not UTF-8 is replaced, never a reason to fail.
template <typename Json>
std::string dump(const Json& body) {
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

net::HttpResponse json_response(unsigned status, const nlohmann::ordered_json& body) {
  net::HttpResponse r{static_cast<http::status>(status), 11};
  r.set(http::field::content_type, "application/json");
  r.set(http::field::cache_control, "no-store");
  r.body() = dump(body);
  return r;
}

bool is_fhir(std::string_view path) {
  return path == "/fhir" || path.starts_with("/fhir/");
}

net::HttpResponse fhir_response(const fhir::Reply& reply) {
  net::HttpResponse r{static_cast<http::status>(reply.status), 11};
  r.set(http::field::content_type, "application/fhir+json; charset=utf-8");
  r.set(http::field::cache_control, "no-store");
  r.body() = dump(reply.body);
  return r;
}

// FHIR clients expect an OperationOutcome for every error (INTEROP.md §3.3).
net::HttpResponse fhir_error(unsigned status, std::string_view detail) {
  const char* code = status == 401 || status == 403   ? "security"
                     : status == 404                  ? "not-found"
                     : status == 405 || status == 415 ? "not-supported"
                     : status == 413 || status == 431 ? "too-costly"
                     : status >= 500                  ? "transient"
                                                      : "invalid";
  auto r = fhir_response(fhir::refusal(status, code, std::string(detail)));
  if (status == 401) r.set(http::field::www_authenticate, "Bearer realm=\"markerwatch\"");
  return r;
}

// The review page's files: public (they hold no patient data), and allowed to load and run only
// themselves, to talk only to this server, and to show charts from blob: URLs.
net::HttpResponse review_page(const StaticAsset& asset) {
  net::HttpResponse r{http::status::ok, 11};
  r.set(http::field::content_type, std::string(asset.content_type));
  r.set(http::field::cache_control, "no-cache");
  r.set("Content-Security-Policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
        "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'");
  r.set("X-Content-Type-Options", "nosniff");
  r.set("Referrer-Policy", "no-referrer");
  r.body() = std::string(asset.body);
  return r;
}

// Routes that need no token: they hold no patient data.
bool is_public(std::string_view target) {
  return target == "/healthz" || target == "/readyz";
}

// Thrown for a bad query parameter: answered 400 naming it.
struct BadParameter : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A patient named in a path or a query, checked as an import checks one ("id" or
// "id^authority"), in the form the import stores (trimmed).
std::string checked_patient(const std::string& patient, std::string_view what) {
  try {
    return patient_text(parse_patient_key(patient, what));
  } catch (const InputError& e) {
    throw BadParameter(e.what());
  }
}

// net::percent_decode and net::parse_query, their refusals answered 400 as a bad parameter.
std::string percent_decode(std::string_view in) {
  try {
    return net::percent_decode(in);
  } catch (const InputError& e) {
    throw BadParameter(e.what());
  }
}

std::map<std::string, std::string> parse_query(std::string_view target) {
  try {
    return net::parse_query(target);
  } catch (const InputError& e) {
    throw BadParameter(e.what());
  }
}

int int_parameter(const std::map<std::string, std::string>& q, const std::string& name,
                  int fallback, int min, int max) {
  auto it = q.find(name);
  if (it == q.end()) return fallback;
  try {
    std::size_t used = 0;
    const long v = std::stol(it->second, &used);
    if (used == it->second.size() && v >= min && v <= max) return static_cast<int>(v);
  } catch (const std::exception&) {
  }
  throw BadParameter(name + " must be a whole number from " + std::to_string(min) + " to " +
                     std::to_string(max));
}

std::string_view sv(boost::beast::string_view v) {
  return {v.data(), v.size()};
}

// The request's media type, lower case, without parameters ("application/json").
std::string media_type(const net::HttpRequest& request) {
  const auto value = text::to_lower(sv(request[http::field::content_type]));
  return std::string(text::trim(std::string_view(value).substr(0, value.find(';'))));
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

net::HttpResponse problem(unsigned status, std::string_view detail,
                          const nlohmann::ordered_json& extensions) {
  const auto code = static_cast<http::status>(status);
  nlohmann::ordered_json body = {{"type", "about:blank"},
                                 {"title", std::string(http::obsolete_reason(code))},
                                 {"status", status},
                                 {"detail", std::string(detail)}};
  if (extensions.is_object())
    for (const auto& [key, value] : extensions.items()) body[key] = value;
  net::HttpResponse r{code, 11};
  r.set(http::field::content_type, "application/problem+json");
  r.set(http::field::cache_control, "no-store");
  if (status == 401) r.set(http::field::www_authenticate, "Bearer realm=\"markerwatch\"");
  r.body() = dump(body);
  return r;
}

ApiHandler::ApiHandler(std::shared_ptr<const settings::Settings> settings, const Clock& clock,
                       ingest::StoreWriter& writer, StatusSources sources, Reload reload)
    : settings_(std::move(settings)),
      reload_(std::move(reload)),
      clock_(clock),
      writer_(writer),
      sources_(std::move(sources)) {}

std::shared_ptr<const settings::Settings> ApiHandler::settings() const {
  std::lock_guard lock(settings_mutex_);
  return settings_;
}

void ApiHandler::use_settings(std::shared_ptr<const settings::Settings> next) {
  std::lock_guard lock(settings_mutex_);
  settings_ = std::move(next);
}

void ApiHandler::reload_config(const std::string& peer, const settings::HttpToken& token,
                               const Respond& reply) {
  log()->info("event=reload_requested peer={} token={}", peer, token.name);
  reload_([reply](bool applied, const std::string& detail) {
    if (applied)
      reply(json_response(200, {{"status", "reloaded"}, {"detail", detail}}));
    else
      reply(problem(409, detail));
  });
}

net::HttpResponse ApiHandler::error_response(unsigned status, std::string_view detail,
                                             std::string_view target) {
  count(status);
  return is_fhir(path_of(target)) ? fhir_error(status, detail) : problem(status, detail);
}

void ApiHandler::count(unsigned status) {
  std::lock_guard lock(counts_mutex_);
  ++responses_[status];
}

void ApiHandler::on_request(net::HttpRequest request, const std::string& peer, Respond respond) {
  // Counted when answered, whichever thread answers.
  auto reply = [this, respond = std::move(respond)](net::HttpResponse response) {
    count(response.result_int());
    respond(std::move(response));
  };
  std::optional<net::HttpResponse> response;
  try {
    response = handle(request, peer, reply);
  } catch (const std::exception& e) {
    log()->error("event=request_failed peer={} target=\"{}\" error=\"{}\"", peer,
                 text::printable(sv(request.target()), 200), text::printable(e.what(), 200));
    response = problem(500, "the request could not be processed; see the daemon's log");
  }
  if (response) reply(std::move(*response));
}

std::optional<net::HttpResponse> ApiHandler::handle(const net::HttpRequest& request,
                                                    const std::string& peer, const Respond& reply) {
  const auto path = path_of(sv(request.target()));
  const bool read_only =
      request.method() == http::verb::get || request.method() == http::verb::head;
  for (const auto& asset : review_assets()) {
    if (path != asset.path) continue;
    if (!read_only) return problem(405, "only GET is allowed here");
    return review_page(asset);
  }
  if (is_public(path)) {
    if (!read_only) return problem(405, "only GET is allowed here");
    if (path == "/healthz") return json_response(200, {{"status", "ok"}});
    return readyz();
  }
  const bool fhir_api = is_fhir(path);
  auto refuse = [&](unsigned status, std::string_view detail) {
    return fhir_api ? fhir_error(status, detail) : problem(status, detail);
  };
  // Held to the end of the request: `token` points into it.
  const auto current = settings();
  const auto* token = authenticate(current->http, sv(request[http::field::authorization]));
  if (!token) {
    log()->info("event=request_unauthorized peer={} target=\"{}\"", peer,
                text::printable(path, 200));
    return refuse(401, "a valid bearer token is required (Authorization: Bearer <token>)");
  }
  auto forbidden = [&](settings::Role role) -> std::optional<net::HttpResponse> {
    if ((token->roles & static_cast<unsigned>(role)) != 0) return std::nullopt;
    log()->info("event=request_forbidden peer={} token={} target=\"{}\" needs={}", peer,
                token->name, text::printable(path, 200), settings::to_string(role));
    return refuse(403, "token '" + token->name + "' lacks the role '" +
                           std::string(settings::to_string(role)) + "'");
  };
  if (fhir_api) {
    std::string_view endpoint;
    if (path == "/fhir/Observation")
      endpoint = "Observation";
    else if (path != "/fhir" && path != "/fhir/")
      return refuse(404, "no such FHIR endpoint: " + text::printable(path, 200) +
                             " (POST /fhir, /fhir/ or /fhir/Observation)");
    if (auto denied = forbidden(settings::Role::ingest)) return *denied;
    if (request.method() != http::verb::post) return refuse(405, "only POST is allowed here");
    return ingest_fhir(request, endpoint, peer, *token, reply);
  }
  if (path == "/reload") {
    if (auto denied = forbidden(settings::Role::admin)) return *denied;
    if (request.method() != http::verb::post) return problem(405, "only POST is allowed here");
    reload_config(peer, *token, reply);
    return std::nullopt;
  }
  if (path == "/api/v1/results" || path == "/api/v1/milestones") {
    if (auto denied = forbidden(settings::Role::ingest)) return *denied;
    if (request.method() != http::verb::post) return problem(405, "only POST is allowed here");
    return ingest_rows(request,
                       path == "/api/v1/results" ? ingest::FileKind::results_csv
                                                 : ingest::FileKind::milestones_csv,
                       peer, *token, reply);
  }
  // /metrics, /api/v1/alerts, /api/v1/alerts/{id}, /api/v1/alerts/{id}/{ack|resolve}
  constexpr std::string_view kAlerts = "/api/v1/alerts";
  std::string id_text, action;
  bool alerts_list = path == kAlerts, alert_path = false;
  if (path.starts_with(kAlerts) && path.size() > kAlerts.size() + 1 &&
      path[kAlerts.size()] == '/') {
    alert_path = true;
    const auto rest = path.substr(kAlerts.size() + 1);
    const auto slash = rest.find('/');
    id_text = std::string(rest.substr(0, slash));
    if (slash != std::string_view::npos) action = std::string(rest.substr(slash + 1));
  }
  const bool review = alert_path && (action == "ack" || action == "resolve");
  // /api/v1/patients/{id}/{results|milestones|chart.svg}: `what` is the part after the id.
  constexpr std::string_view kPatients = "/api/v1/patients/";
  std::string_view what, patient_written;
  if (path.starts_with(kPatients)) {
    const auto rest = path.substr(kPatients.size());
    const auto slash = rest.rfind('/');
    if (slash != std::string_view::npos && slash > 0) {
      patient_written = rest.substr(0, slash);
      what = rest.substr(slash + 1);
    }
  }
  const bool patient_path = what == "results" || what == "milestones" || what == "chart.svg";
  if (path != "/metrics" && !alerts_list && !(alert_path && (action.empty() || review)) &&
      !patient_path)
    return problem(404, "no such resource: " + text::printable(path, 200));
  if (auto denied = forbidden(review ? settings::Role::review : settings::Role::read))
    return *denied;
  if (review ? request.method() != http::verb::post : !read_only)
    return problem(405, review ? "only POST is allowed here" : "only GET is allowed here");
  if (path == "/metrics") return metrics();
  // Who read which patient's data, and when: one line per read of results, charts or alerts, for
  // the audit trail that health-data regulations ask of a system holding it.
  const auto audited = [&](std::string_view what, std::string_view patient,
                           net::HttpResponse response) {
    log()->info("event=data_read peer={} token={} what={} patient=\"{}\" target=\"{}\" status={}",
                peer, token->name, what, text::printable(patient, 100),
                text::printable(sv(request.target()), 200), response.result_int());
    return response;
  };
  try {
    const auto query = parse_query(sv(request.target()));
    if (alerts_list) {
      const auto patient = query.find("patient");
      return audited("alerts", patient == query.end() ? "*" : patient->second, list_alerts(query));
    }
    if (patient_path) {
      const auto patient = percent_decode(patient_written);
      if (what == "chart.svg") return audited("chart", patient, patient_chart_svg(patient, query));
      if (what == "milestones")
        return audited("milestones", patient, list_milestones(patient, query));
      return audited("results", patient, list_results(patient, query));
    }
    if (id_text.empty() || id_text.size() > 18 ||
        !std::all_of(id_text.begin(), id_text.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return problem(404, "no such alert: " + text::printable(id_text, 40));
    const auto id = std::stoll(id_text);
    if (!review) {
      std::string patient;
      auto detail = alert_detail(id, &patient);
      return audited("alert", patient, std::move(detail));
    }
    return review_alert(request, peer, *token, id, action == "ack" ? "acknowledge" : "resolve",
                        reply);
  } catch (const BadParameter& e) {
    return problem(400, e.what());
  }
}

std::optional<net::HttpResponse> ApiHandler::review_alert(
    const net::HttpRequest& request, const std::string& peer, const settings::HttpToken& token,
    std::int64_t id, const std::string& action, const Respond& reply) {
  if (media_type(request) != "application/json")
    return problem(415, "the body must be application/json: {\"by\": \"name\", \"note\": \"why\"}");
  nlohmann::json body;
  try {
    body = nlohmann::json::parse(request.body());
  } catch (const nlohmann::json::exception&) {
    throw BadParameter("the body is not valid JSON");
  }
  if (!body.is_object()) throw BadParameter("the body must be a JSON object");
  for (const auto& [key, value] : body.items())
    if (key != "by" && key != "note")
      throw BadParameter("unknown field '" + text::printable(key, 40) + "' (by, note)");
  if (!body.contains("by") || !body["by"].is_string())
    throw BadParameter("'by' (who acts, a string) is required");
  if (body.contains("note") && !body["note"].is_string())
    throw BadParameter("'note' must be a string");
  const auto by = body["by"].get<std::string>();
  const auto note = body.value("note", std::string());
  if (text::trim(by).empty() || by.size() > 200)
    throw BadParameter("'by' needs a name (at most 200 characters)");
  if (note.size() > 4000) throw BadParameter("'note' is longer than 4000 characters");
  const auto now = unix_seconds(clock_);
  log()->info("event=alert_review_requested peer={} token={} alert_id={} action={}", peer,
              token.name, id, action);
  writer_.submit_task(
      [settings = settings(), id, action, by, note, now](ingest::Pipeline& pipeline) {
        ingest::AlertReview(pipeline.database(), *settings).act(id, action, by, note, now);
        return ingest::TaskReport{};
      },
      peer,
      [this, id, reply](ingest::WriteOutcome outcome) {
        if (!outcome.committed) {
          reply(
              problem(503, "not stored (" + text::printable(outcome.error, 200) + "); try again"));
          return;
        }
        if (outcome.refused) {
          reply(problem(outcome.refused_not_found ? 404 : 409, *outcome.refused));
          return;
        }
        try {
          reply(alert_detail(id));  // committed: the read connection sees it
        } catch (const std::exception& e) {
          reply(problem(500, std::string("stored, but could not be read back: ") + e.what()));
        }
      });
  return std::nullopt;
}

template <typename Result>
void ApiHandler::store_then_answer(
    const std::string& peer, std::function<ingest::TaskReport(ingest::Pipeline&, Result&)> store,
    std::function<net::HttpResponse(const Result&)> answer,
    std::function<net::HttpResponse(unsigned, const std::string&)> error, const Respond& reply) {
  auto result = std::make_shared<Result>();
  writer_.submit_task([result, store = std::move(store)](
                          ingest::Pipeline& pipeline) { return store(pipeline, *result); },
                      peer,
                      [result, answer = std::move(answer), error = std::move(error),
                       reply](ingest::WriteOutcome outcome) {
                        if (!outcome.committed)
                          reply(error(503, "not stored (" + text::printable(outcome.error, 200) +
                                               "); send it again"));
                        else if (outcome.refused)
                          reply(error(422, "nothing stored: " + *outcome.refused));
                        else
                          reply(answer(*result));
                      });
}

std::optional<net::HttpResponse> ApiHandler::ingest_fhir(const net::HttpRequest& request,
                                                         std::string_view endpoint,
                                                         const std::string& peer,
                                                         const settings::HttpToken& token,
                                                         const Respond& reply) {
  // A rest-hook notification without payload often comes without a Content-Type too.
  if (ping_ && text::trim(request.body()).empty()) {
    ping_();
    log()->info("event=fhir_subscription_ping peer={} token={}", peer, token.name);
    return fhir_response(fhir::notice(
        200, "notification received: the search on the upstream server ([fhir.upstream]) runs"));
  }
  const auto media = media_type(request);
  if (media != "application/fhir+json" && media != "application/json")
    return fhir_error(415, "Content-Type must be application/fhir+json (or application/json)");
  auto prepared = std::make_shared<ingest::PreparedFhir>(
      writer_.pipeline()->prepare_fhir(request.body(), endpoint));
  // An id-only notification (INTEROP.md §3.5) is followed up like a ping, once its message is in
  // the log.
  std::function<void()> search_upstream;
  if (ping_ && prepared->plan && fhir::defer_id_only_entries(*prepared->plan) > 0)
    search_upstream = ping_;
  store_then_answer<ingest::FhirOutcome>(
      peer,
      [prepared, sender = "fhir:" + token.name, peer](ingest::Pipeline& pipeline,
                                                      ingest::FhirOutcome& stored) {
        stored = pipeline.store_fhir(*prepared, sender, peer);
        return ingest::TaskReport{stored.alert_events, "fhir", stored.outcome, stored.stored,
                                  sender};
      },
      [peer, token_name = token.name,
       search_upstream = std::move(search_upstream)](const ingest::FhirOutcome& stored) {
        log()->info("event=fhir_request peer={} token={} message_id={} outcome={} status={}", peer,
                    token_name, stored.message_id, stored.outcome, stored.reply.status);
        if (search_upstream) {  // also for a re-sent one: a run reads from the cursor, cheaply
          search_upstream();
          log()->info("event=fhir_subscription_ping peer={} token={} message_id={} id_only=true",
                      peer, token_name, stored.message_id);
        }
        return fhir_response(stored.reply);
      },
      [](unsigned status, const std::string& detail) { return fhir_error(status, detail); }, reply);
  return std::nullopt;
}

std::optional<net::HttpResponse> ApiHandler::ingest_rows(const net::HttpRequest& request,
                                                         ingest::FileKind kind,
                                                         const std::string& peer,
                                                         const settings::HttpToken& token,
                                                         const Respond& reply) {
  if (media_type(request) != "application/json")
    return problem(415, "Content-Type must be application/json");
  auto prepared = std::make_shared<ingest::PreparedRows>(
      writer_.pipeline()->prepare_rows(request.body(), kind));
  store_then_answer<ingest::RowsOutcome>(
      peer,
      [prepared, sender = "api:" + token.name, peer](ingest::Pipeline& pipeline,
                                                     ingest::RowsOutcome& stored) {
        stored = pipeline.store_rows(*prepared, sender, peer);
        return ingest::TaskReport{stored.alert_events, "api", stored.outcome, stored.stored,
                                  sender};
      },
      [peer, token_name = token.name](const ingest::RowsOutcome& stored) {
        log()->info("event=api_rows peer={} token={} message_id={} outcome={} stored={}", peer,
                    token_name, stored.message_id, stored.outcome, stored.stored);
        if (stored.refusal) return problem(400, *stored.refusal);
        if (!stored.rejected.empty()) {
          nlohmann::ordered_json errors = nlohmann::ordered_json::array();
          for (const auto& r : stored.rejected)
            errors.push_back({{"index", r.index}, {"detail", r.reason}});
          return problem(422,
                         std::to_string(stored.rejected.size()) + " row(s) refused; nothing stored",
                         {{"errors", std::move(errors)}});
        }
        return json_response(200, {{"message_id", stored.message_id},
                                   {"stored", stored.stored},
                                   {"unchanged", stored.unchanged},
                                   {"alert_events", stored.alert_counts}});
      },
      [](unsigned status, const std::string& detail) { return problem(status, detail); }, reply);
  return std::nullopt;
}

net::HttpResponse ApiHandler::patient_chart_svg(const std::string& written,
                                                const std::map<std::string, std::string>& query) {
  for (const auto& [name, value] : query)
    if (name != "marker")
      throw BadParameter("unknown parameter '" + text::printable(name, 40) + "' (marker)");
  const auto patient = checked_patient(written, "the patient id");
  const auto it = query.find("marker");
  const std::string marker = it == query.end() ? "AFP" : it->second;
  const auto current = settings();
  if (!current->markers.find(marker))
    throw BadParameter("unknown marker '" + text::printable(marker, 40) + "'");
  std::string svg;
  try {
    std::lock_guard lock(db_mutex_);
    svg = chart::render_svg(chart::load_chart(database(), current->markers, patient, marker));
  } catch (const chart::PatientNotFound& e) {
    return problem(404, e.what());
  }
  net::HttpResponse r{http::status::ok, 11};
  r.set(http::field::content_type, "image/svg+xml");
  r.set(http::field::cache_control, "no-store");
  // Opened on its own, the image may run nothing and load nothing.
  r.set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'");
  r.body() = std::move(svg);
  return r;
}

store::Database& ApiHandler::database() {
  if (!db_) db_.emplace(settings()->storage.path, store::read_only_options());
  return *db_;
}

net::HttpResponse ApiHandler::list_alerts(const std::map<std::string, std::string>& query) {
  static const std::set<std::string> kKnown = {"state", "patient", "marker", "severity",
                                               "since", "until",   "limit",  "offset"};
  for (const auto& [name, value] : query)
    if (!kKnown.count(name))
      throw BadParameter("unknown parameter '" + text::printable(name, 40) +
                         "' (state, patient, marker, severity, since, until, limit, offset)");
  auto get = [&](const char* name) {
    auto it = query.find(name);
    return it == query.end() ? std::string() : it->second;
  };
  store::AlertFilter filter;
  filter.state = get("state");
  if (filter.state.empty()) filter.state = "open";
  if (filter.state == "all")
    filter.state.clear();
  else if (filter.state != "open" && filter.state != "acknowledged" && filter.state != "resolved" &&
           filter.state != "retracted")
    throw BadParameter("state must be open, acknowledged, resolved, retracted or all");
  filter.patient = get("patient");
  if (!filter.patient.empty()) filter.patient = checked_patient(filter.patient, "patient");
  filter.severity = get("severity");
  if (!filter.severity.empty() && filter.severity != "high" && filter.severity != "standard")
    throw BadParameter("severity must be high or standard");
  if (const auto marker = get("marker"); !marker.empty()) {
    const auto current = settings();
    const auto* def = current->markers.find(marker);
    if (!def) throw BadParameter("unknown marker '" + text::printable(marker, 40) + "'");
    filter.marker = def->name;
  }
  filter.since = get("since");
  filter.until = get("until");
  for (const auto* date : {&filter.since, &filter.until})
    if (!date->empty() && !day_number(*date))
      throw BadParameter("since and until are dates (YYYY-MM-DD)");
  filter.limit = int_parameter(query, "limit", 100, 1, 1000);
  filter.offset = int_parameter(query, "offset", 0, 0, 100000000);
  // One more than asked tells whether there is a next page.
  const int page = filter.limit;
  ++filter.limit;
  std::vector<store::AlertRow> rows;
  {
    std::lock_guard lock(db_mutex_);
    store::AlertStore alerts(database());
    rows = alerts.alerts(filter);
  }
  const bool more = static_cast<int>(rows.size()) > page;
  if (more) rows.pop_back();
  nlohmann::ordered_json body = {
      {"alerts", nlohmann::ordered_json::array()}, {"offset", filter.offset}, {"limit", page}};
  for (const auto& r : rows) body["alerts"].push_back(store::to_json(r));
  body["next_offset"] = more ? nlohmann::ordered_json(filter.offset + page) : nullptr;
  return json_response(200, body);
}

net::HttpResponse ApiHandler::list_results(const std::string& written,
                                           const std::map<std::string, std::string>& query) {
  for (const auto& [name, value] : query)
    if (name != "marker" && name != "all_versions")
      throw BadParameter("unknown parameter '" + text::printable(name, 40) +
                         "' (marker, all_versions)");
  const auto patient = checked_patient(written, "the patient id");
  std::string marker;
  if (auto it = query.find("marker"); it != query.end()) {
    const auto current = settings();
    const auto* def = current->markers.find(it->second);
    if (!def) throw BadParameter("unknown marker '" + text::printable(it->second, 40) + "'");
    marker = def->name;
  }
  bool all_versions = false;
  if (auto it = query.find("all_versions"); it != query.end()) {
    if (it->second != "true" && it->second != "false")
      throw BadParameter("all_versions must be true or false");
    all_versions = it->second == "true";
  }
  std::lock_guard lock(db_mutex_);
  store::ResultStore results(database());
  if (results.patients(patient).empty())
    return problem(404, "no such patient: " + text::printable(patient, 60));
  nlohmann::ordered_json body = {{"patient_id", patient},
                                 {"results", nlohmann::ordered_json::array()}};
  for (const auto& r : results.results(patient, marker, !all_versions))
    body["results"].push_back(store::to_json(r));
  return json_response(200, body);
}

net::HttpResponse ApiHandler::list_milestones(const std::string& written,
                                              const std::map<std::string, std::string>& query) {
  if (!query.empty())
    throw BadParameter("unknown parameter '" + text::printable(query.begin()->first, 40) +
                       "' (none are taken)");
  const auto patient = checked_patient(written, "the patient id");
  std::lock_guard lock(db_mutex_);
  store::ResultStore results(database());
  if (results.patients(patient).empty())
    return problem(404, "no such patient: " + text::printable(patient, 60));
  // The milestones and their log from one snapshot, whatever commits meanwhile.
  store::Savepoint snapshot(database());
  nlohmann::ordered_json body = {{"patient_id", patient},
                                 {"milestones", nlohmann::ordered_json::array()},
                                 {"changes", nlohmann::ordered_json::array()}};
  for (const auto& m : results.milestones(patient)) body["milestones"].push_back(store::to_json(m));
  for (const auto& c : store::MilestoneLog(database()).changes(patient))
    body["changes"].push_back(store::to_json(c));
  return json_response(200, body);
}

net::HttpResponse ApiHandler::alert_detail(std::int64_t id, std::string* patient) {
  std::lock_guard lock(db_mutex_);
  store::AlertStore alerts(database());
  store::DeliveryStore deliveries(database());
  // The alert, its events and its deliveries from one snapshot, whatever commits meanwhile.
  store::Savepoint snapshot(database());
  const auto row = alerts.alert(id);
  if (!row) return problem(404, "no such alert: " + std::to_string(id));
  if (patient) *patient = row->patient_id;
  auto body = store::to_json(*row);
  body["events"] = nlohmann::ordered_json::array();
  for (const auto& e : alerts.events_of(id)) body["events"].push_back(store::to_json(e));
  store::DeliveryFilter filter;
  filter.alert_id = id;
  body["deliveries"] = nlohmann::ordered_json::array();
  for (const auto& d : deliveries.list(filter)) body["deliveries"].push_back(store::to_json(d));
  return json_response(200, body);
}

net::HttpResponse ApiHandler::readyz() {
  if (stopping_) return problem(503, "markerwatchd is stopping");
  // Writable: the writer's latest group commit went through (a full disk, a lost lock...).
  if (const auto error = writer_.stats().last_commit_error; !error.empty())
    return problem(503, "the latest write failed: " + text::printable(error, 200));
  try {
    std::lock_guard lock(db_mutex_);
    store::check_schema_version(database());
  } catch (const std::exception& e) {
    db_.reset();
    return problem(503, std::string("the database does not answer: ") + e.what());
  }
  return json_response(200, {{"status", "ready"}});
}

std::string prometheus_label_value(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
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
    out << series << " ";
    if constexpr (std::is_floating_point_v<decltype(value)>) {
      // The shortest text that reads back as the same double: a stream's default 6 digits would
      // round a database size or a Unix time (1.79608e+09).
      char text[32];
      const auto end = std::to_chars(text, text + sizeof text, value).ptr;
      out.write(text, end - text);
    } else {
      out << value;
    }
    out << "\n";
  };
  if (sources_.counters)
    for (const auto& [series, value] : sources_.counters()) emit(series, value, "counter");
  if (sources_.gauges)
    for (const auto& [series, value] : sources_.gauges()) emit(series, value, "gauge");
  if (sources_.histograms)
    for (const auto& h : sources_.histograms()) {
      family(h.name.c_str(), "histogram", h.help.c_str());
      for (std::size_t i = 0; i < h.data.cumulative.size(); ++i) {
        std::ostringstream le;
        if (i < h.data.bounds.size())
          le << h.data.bounds[i];
        else
          le << "+Inf";
        out << h.name << "_bucket{le=\"" << le.str() << "\"} " << h.data.cumulative[i] << "\n";
      }
      out << h.name << "_sum " << h.data.sum << "\n" << h.name << "_count " << h.data.count << "\n";
    }
  last_family.clear();
  {
    std::lock_guard lock(counts_mutex_);
    for (const auto& [status, n] : responses_)
      emit("markerwatch_http_responses_total{code=\"" + std::to_string(status) + "\"}", n,
           "counter");
  }
  {
    std::lock_guard lock(db_mutex_);
    auto alerts = database().prepare("SELECT state, severity, count(*) FROM alerts GROUP BY 1, 2");
    while (alerts.step())
      emit("markerwatch_alerts{state=\"" + alerts.text(0) + "\",severity=\"" + alerts.text(1) +
               "\"}",
           alerts.int64(2), "gauge");
    std::int64_t pending = 0;
    auto deliveries =
        database().prepare("SELECT receiver, state, count(*) FROM deliveries GROUP BY 1, 2");
    while (deliveries.step()) {
      emit("markerwatch_deliveries{receiver=\"" + prometheus_label_value(deliveries.text(0)) +
               "\",state=\"" + deliveries.text(1) + "\"}",
           deliveries.int64(2), "gauge");
      if (deliveries.text(1) == "pending") pending += deliveries.int64(2);
    }
    emit("markerwatch_outbox_depth", pending, "gauge");
  }
  net::HttpResponse r{http::status::ok, 11};
  r.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
  r.set(http::field::cache_control, "no-store");
  r.body() = out.str();
  return r;
}

}  // namespace markerwatch::app
