#pragma once
// markerwatchd's HTTP API over net::HttpServer: bearer-token authentication with roles, errors as
// application/problem+json (RFC 9457), and the operational endpoints: /healthz (the process
// answers), /readyz (the database answers and the daemon is not stopping), /metrics (Prometheus
// text format, role `read`), and the alert review reads: GET /api/v1/alerts (filters and paging)
// and GET /api/v1/alerts/{id} (evidence, events, deliveries), role `read`; POST
// /api/v1/alerts/{id}/ack and /resolve with {"by", "note"}, role `review`, answered after the
// writer's group commit; GET /api/v1/patients/{id}/results, role `read`; FHIR R4 ingest (POST
// /fhir, /fhir/ and /fhir/Observation, role `ingest`), whose errors are OperationOutcomes; POST
// /reload (role `admin`), the same configuration reload as SIGHUP.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "ingest/store_writer.hpp"
#include "net/http_server.hpp"
#include "settings/settings.hpp"
#include "store/database.hpp"

namespace markerwatch::app {

// Who a request's Authorization header names: nullopt when it names nobody (no header, not a
// bearer token, or a token no [[http.tokens]] entry hashes to).
const settings::HttpToken* authenticate(const settings::HttpSettings& http,
                                        std::string_view authorization);

// RFC 9457 problem details; `extensions` are added as members (e.g. "errors").
net::HttpResponse problem(unsigned status, std::string_view detail,
                          const nlohmann::ordered_json& extensions = {});

// Counters and gauges that live elsewhere in the daemon, read when /metrics is scraped.
struct NamedHistogram {
  std::string name;  // without the _bucket/_sum/_count suffixes
  std::string help;
  ingest::Histogram::Snapshot data;
};

// A Prometheus label value for the series names below: backslash, quote and newline escaped.
std::string prometheus_label_value(std::string_view value);

struct StatusSources {
  std::function<std::map<std::string, std::uint64_t>()> counters;  // name{labels} -> value
  std::function<std::map<std::string, double>()> gauges;
  std::function<std::vector<NamedHistogram>()> histograms;
};

class ApiHandler final : public net::HttpHandler {
 public:
  // `reload` runs a configuration reload for POST /reload (ConfigReloader::reload).
  using Reload = std::function<void(std::function<void(bool applied, std::string detail)>)>;
  ApiHandler(std::shared_ptr<const settings::Settings> settings, const Clock& clock,
             ingest::StoreWriter& writer, StatusSources sources, Reload reload);

  void on_request(net::HttpRequest request, const std::string& peer, Respond respond) override;
  net::HttpResponse error_response(unsigned status, std::string_view detail,
                                   std::string_view target) override;
  // /readyz answers 503 from now on.
  void set_stopping() { stopping_ = true; }
  // Requests from now on see these settings (tokens, markers); those in flight keep theirs.
  void use_settings(std::shared_ptr<const settings::Settings> next);
  // What an empty POST /fhir (a subscription's "ping") or an id-only notification does: with
  // [fhir.upstream], the search there runs; unset, the ping is refused as a request without a body
  // and id-only entries as entries without a resource. Set before requests come.
  void on_subscription_ping(std::function<void()> ping) { ping_ = std::move(ping); }

 private:
  // A response, or nullopt when `reply` will be called later (writes wait for their commit).
  std::optional<net::HttpResponse> handle(const net::HttpRequest& request, const std::string& peer,
                                          const Respond& reply);
  std::optional<net::HttpResponse> review_alert(const net::HttpRequest& request,
                                                const std::string& peer,
                                                const settings::HttpToken& token, std::int64_t id,
                                                const std::string& action, const Respond& reply);
  // POST /fhir, /fhir/, /fhir/Observation: planned here, stored by the writer, answered after
  // the commit.
  std::optional<net::HttpResponse> ingest_fhir(const net::HttpRequest& request,
                                               std::string_view endpoint, const std::string& peer,
                                               const settings::HttpToken& token,
                                               const Respond& reply);
  // Runs `store` on the writer thread in the next group commit and replies `answer(result)` once
  // it is committed; a failed commit is answered 503 and a refusal (InputError) 422, both in the
  // endpoint's error shape `error`.
  template <typename Result>
  void store_then_answer(const std::string& peer,
                         std::function<ingest::TaskReport(ingest::Pipeline&, Result&)> store,
                         std::function<net::HttpResponse(const Result&)> answer,
                         std::function<net::HttpResponse(unsigned, const std::string&)> error,
                         const Respond& reply);
  // POST /api/v1/results and /api/v1/milestones: all rows or none, answered after the commit.
  std::optional<net::HttpResponse> ingest_rows(const net::HttpRequest& request,
                                               ingest::FileKind kind, const std::string& peer,
                                               const settings::HttpToken& token,
                                               const Respond& reply);
  net::HttpResponse readyz();
  net::HttpResponse metrics();
  net::HttpResponse list_alerts(const std::map<std::string, std::string>& query);
  // `patient`, when given, gets the alert's patient identifier ("" for no such alert).
  net::HttpResponse alert_detail(std::int64_t id, std::string* patient = nullptr);
  net::HttpResponse list_results(const std::string& patient,
                                 const std::map<std::string, std::string>& query);
  // The patient's milestones and the milestone log's changes of them (who added or removed which).
  net::HttpResponse list_milestones(const std::string& patient,
                                    const std::map<std::string, std::string>& query);
  net::HttpResponse patient_chart_svg(const std::string& patient,
                                      const std::map<std::string, std::string>& query);
  store::Database& database();  // the read connection, opened on first use; hold db_mutex_
  void count(unsigned status);

  std::shared_ptr<const settings::Settings> settings() const;
  // POST /reload: answered once the reload is applied or refused.
  void reload_config(const std::string& peer, const settings::HttpToken& token,
                     const Respond& reply);

  mutable std::mutex settings_mutex_;
  std::shared_ptr<const settings::Settings> settings_;
  Reload reload_;
  std::function<void()> ping_;
  const Clock& clock_;
  ingest::StoreWriter& writer_;
  StatusSources sources_;
  std::atomic<bool> stopping_{false};
  std::mutex db_mutex_;  // the io_context runs on two threads
  std::optional<store::Database> db_;
  std::mutex counts_mutex_;
  std::map<unsigned, std::uint64_t> responses_;
};

}  // namespace markerwatch::app
