#include "app/daemon.hpp"

#include <filesystem>

#include <pthread.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <utility>  // Boost 1.74 Asio uses std::exchange without including it

#include <atomic>
#include <boost/asio.hpp>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <thread>

#include "app/config_reload.hpp"
#include "app/http_api.hpp"
#include "app/logging.hpp"
#include "app/tls_expiry_watch.hpp"
#include "app/upstream_fetcher.hpp"
#include "core/clock.hpp"
#include "core/text.hpp"
#include "ingest/store_writer.hpp"
#include "net/http_server.hpp"
#include "net/mllp_server.hpp"
#include "notify/sender.hpp"
#include "store/checkpointer.hpp"

namespace markerwatch::app {

namespace asio = boost::asio;

namespace {

// The database file and its write-ahead log, in bytes (what the disk holds for it).
double database_bytes(const std::string& path) {
  std::error_code ec;
  double total = 0;
  for (const auto& f : {path, path + "-wal"}) {
    const auto size = std::filesystem::file_size(f, ec);
    if (!ec) total += static_cast<double>(size);
  }
  return total;
}

// Bridges the protocol-agnostic MLLP listener to the store writer.
class Hl7FrameHandler final : public net::FrameHandler {
 public:
  explicit Hl7FrameHandler(ingest::StoreWriter& writer) : writer_(writer) {}

  void on_frame(std::string frame, const std::string& peer, Respond respond) override {
    writer_.submit_hl7(std::move(frame), peer,
                       [this, respond = std::move(respond), peer](ingest::WriteOutcome o) {
                         respond(to_reply(o, peer));
                       });
  }

  void on_oversized(std::string head, std::size_t limit, const std::string& peer,
                    Respond respond) override {
    writer_.submit_oversized(std::move(head), limit, peer,
                             [this, respond = std::move(respond), peer](ingest::WriteOutcome o) {
                               auto reply = to_reply(o, peer);
                               reply.close = true;
                               respond(std::move(reply));
                             });
  }

  // Messages answered per ACK code, and those closed without an ACK (not stored).
  std::map<std::string, std::uint64_t> counters() const {
    return {{"markerwatch_mllp_messages_total{ack=\"AA\"}", aa_.load()},
            {"markerwatch_mllp_messages_total{ack=\"AE\"}", ae_.load()},
            {"markerwatch_mllp_messages_total{ack=\"AR\"}", ar_.load()},
            {"markerwatch_mllp_messages_total{ack=\"none\"}", not_stored_.load()}};
  }

 private:
  Reply to_reply(const ingest::WriteOutcome& o, const std::string& peer) {
    if (!o.committed)
      ++not_stored_;
    else if (o.hl7.ack_code == hl7::AckCode::AA)
      ++aa_;
    else if (o.hl7.ack_code == hl7::AckCode::AE)
      ++ae_;
    else
      ++ar_;
    if (!o.committed) {
      // Not stored: no ACK at all, so the sender's queue retries (a NACK would stop it).
      spdlog::error("event=message_not_stored peer={} error=\"{}\" action=close_without_ack", peer,
                    text::printable(o.error, 200));
      return {std::nullopt, true};
    }
    const auto& h = o.hl7;
    if (h.ack_code == hl7::AckCode::AA)
      spdlog::debug(
          "event=message_stored peer={} message_id={} control_id={} outcome={} stored={} "
          "ignored={}",
          peer, h.message_id, text::printable(h.control_id, 60), h.outcome, h.stored, h.ignored);
    else
      spdlog::warn(
          "event=message_rejected peer={} message_id={} control_id={} ack={} outcome={} stored={} "
          "reason=\"{}\"",
          peer, h.message_id, text::printable(h.control_id, 60), hl7::to_string(h.ack_code),
          h.outcome, h.stored, text::printable(text::without_quoted_values(h.error), 200));
    if (!h.acknowledge) return {std::nullopt, false};
    return {h.ack, false};
  }

  ingest::StoreWriter& writer_;
  std::atomic<std::uint64_t> aa_{0}, ae_{0}, ar_{0}, not_stored_{0};
};

// Binds a listener; false (logged) when its address cannot be bound.
template <typename Server>
bool start_listener(Server& server, const char* name, const settings::Endpoint& listen) {
  try {
    server.start();
    return true;
  } catch (const std::exception& e) {
    spdlog::critical("event=listen_failed listener={} address={}:{} error=\"{}\"", name,
                     listen.host, listen.port, e.what());
    return false;
  }
}

void notify(const char* state) {
  sd_notify(0, state);
}

}  // namespace

ListenerTlsContexts load_listener_tls(const settings::Settings& s) {
  ListenerTlsContexts tls;
  if (!s.http.cert_file.empty())
    tls.http = net::load_tls_context({s.http.cert_file, s.http.key_file, {}, {}}, "http");
  if (!s.mllp.cert_file.empty())
    tls.mllp = std::make_shared<const net::MllpTls>(net::MllpTls{
        net::load_tls_context(
            {s.mllp.cert_file, s.mllp.key_file, s.mllp.client_ca_file, s.mllp.client_crl_file},
            "mllp"),
        s.mllp.allowed_clients});
  return tls;
}

int run_daemon(std::shared_ptr<const settings::Settings> initial, const std::string& config_path) {
  // What a reload may not change (listeners, storage) is read from these all along.
  const settings::Settings& settings = *initial;
  SystemClock clock;
  spdlog::info("event=starting version={} {}", MARKERWATCH_VERSION, settings::describe(settings));
  // A schema upgrade can rebuild an index over every stored result (schema 6: ~1.6 s per million
  // here): systemd, which waits 90 s for READY=1 by default, is told every second to wait 10 s
  // more, so a large database is not killed (and rolled back) mid-upgrade again and again.
  bool upgrade_logged = false;
  ingest::StoreWriter writer(settings, clock, [&] {
    if (!std::exchange(upgrade_logged, true))
      spdlog::info("event=schema_upgrading path={} start_timeout_extended_s=10",
                   settings.storage.path);
    notify("EXTEND_TIMEOUT_USEC=10000000");
  });
  spdlog::info("event=database_ready path={} schema_version={}", settings.storage.path,
               writer.schema_version());

  // Two threads run this loop (below), yet the hint says one: Asio then keeps a handler posted
  // from a handler on its own thread's queue and stops waking the other thread for every queued
  // handler; it stays fully thread-safe. With the default, each ACK woke the thread sitting in
  // epoll for nothing (the reply's post to the connection's strand), and the two threads fought
  // over the scheduler's lock. A batch's answers still come in two parts posted from the writer's
  // thread (set_completion_dispatch), and such posts wake a thread as before, so the two share the
  // work under load. Measured in bench/README.md (twentieth session): one connection faster, 32
  // connections no slower.
  asio::io_context io{1};
  Hl7FrameHandler handler(writer);
  net::MllpServerOptions mllp_options;
  mllp_options.host = settings.mllp.listen.host;
  mllp_options.port = settings.mllp.listen.port;
  mllp_options.max_message_bytes = static_cast<std::size_t>(settings.mllp.max_message_bytes);
  mllp_options.idle_timeout = std::chrono::seconds(settings.mllp.idle_timeout_s);
  mllp_options.handshake_timeout = std::chrono::seconds(settings.mllp.handshake_timeout_s);
  mllp_options.max_connections = settings.mllp.max_connections;
  const auto tls = load_listener_tls(settings);
  mllp_options.tls = tls.mllp;
  net::MllpServer mllp(io, mllp_options, handler);
  if (!start_listener(mllp, "mllp", settings.mllp.listen)) return 1;
  // Webhook deliveries run on their own thread, never on the network threads; what they record
  // is written by the one writer.
  notify::Sender sender(settings, clock,
                        [&writer](notify::Sender::Write write, notify::Sender::WriteDone done) {
                          writer.submit_write(std::move(write), "notify", std::move(done));
                        });

  // Measured: the 32-connection p99 ACK latency fell from 26-30 ms to 20-22 ms (bench/README.md).
  store::Checkpointer checkpointer(
      settings.storage.path, std::chrono::milliseconds(100),
      [path = settings.storage.path](store::Checkpointer::Event what, std::string_view error,
                                     std::uint64_t failures) {
        using Event = store::Checkpointer::Event;
        if (what == Event::open_failed)
          spdlog::error("event=checkpointer_failed path={} error=\"{}\"", path, error);
        else if (what == Event::checkpoint_failed)
          spdlog::warn("event=checkpoint_failed failures={} error=\"{}\"", failures, error);
        else
          spdlog::info("event=checkpoint_recovered failures={}", failures);
      });

  net::HttpServer* http_server = nullptr;
  std::optional<ConfigReloader> reloader;  // made once the HTTP API it updates exists
  const auto listener_tls = [&] {
    return ListenerTls{mllp.tls_context(), http_server ? http_server->tls_context() : nullptr};
  };
  // Signals, the watchdog and the TLS expiry checks share one strand: the io_context runs on two
  // threads.
  auto control = asio::make_strand(io);
  TlsExpiryWatch tls_watch(control, clock, listener_tls);
  // [fhir.upstream] is read at the start only (a change needs a restart).
  std::optional<UpstreamFetcher> upstream;
  StatusSources sources;
  sources.counters = [&] {
    auto counters = handler.counters();
    const auto stored = writer.stats();
    const auto sent = sender.stats();
    counters["markerwatch_store_messages_total"] = stored.messages;
    counters["markerwatch_store_commits_total"] = stored.commits;
    counters["markerwatch_store_failures_total"] = stored.failures;
    counters["markerwatch_checkpoint_failures_total{checkpoint=\"background\"}"] =
        checkpointer.failures();
    counters["markerwatch_checkpoint_failures_total{checkpoint=\"writer\"}"] =
        stored.failed_checkpoints;
    if (upstream) {
      const auto searched = upstream->stats();
      counters["markerwatch_fhir_upstream_runs_total{outcome=\"completed\"}"] = searched.completed;
      counters["markerwatch_fhir_upstream_runs_total{outcome=\"failed\"}"] = searched.failed;
      counters["markerwatch_fhir_upstream_pages_total"] = searched.pages;
    }
    counters["markerwatch_webhook_attempts_total"] = sent.attempts;
    counters["markerwatch_webhook_delivered_total"] = sent.delivered;
    counters["markerwatch_webhook_dead_total"] = sent.dead;
    counters["markerwatch_accept_failures_total{listener=\"mllp\"}"] = mllp.accept_failures();
    const auto refused = mllp.tls_refusals();
    counters["markerwatch_mllp_tls_refused_total{reason=\"handshake_failed\"}"] =
        refused.handshake_failed;
    counters["markerwatch_mllp_tls_refused_total{reason=\"certificate_rejected\"}"] =
        refused.certificate_rejected;
    counters["markerwatch_mllp_tls_refused_total{reason=\"not_allowed\"}"] = refused.not_allowed;
    counters["markerwatch_mllp_tls_refused_total{reason=\"handshake_timeout\"}"] =
        refused.handshake_timeout;
    if (http_server)
      counters["markerwatch_accept_failures_total{listener=\"http\"}"] =
          http_server->accept_failures();
    if (reloader) {
      const auto reloads = reloader->stats();
      counters["markerwatch_config_reloads_total{outcome=\"applied\"}"] = reloads.applied;
      counters["markerwatch_config_reloads_total{outcome=\"refused\"}"] = reloads.refused;
    }
    for (const auto& [key, n] : stored.messages_by_outcome)
      counters["markerwatch_messages_total{transport=\"" + key.first + "\",outcome=\"" +
               key.second + "\"}"] = n;
    for (const auto& [transport, n] : stored.results_by_transport)
      counters["markerwatch_results_stored_total{transport=\"" + transport + "\"}"] = n;
    for (const auto& [type, n] : stored.alert_events_by_type)
      counters["markerwatch_alert_events_total{type=\"" + type + "\"}"] = n;
    return counters;
  };
  sources.histograms = [&] {
    const auto stored = writer.stats();
    return std::vector<NamedHistogram>{
        {"markerwatch_mllp_ack_latency_seconds",
         "Time from an MLLP message's hand-over to the writer to its ACK's release (stored and "
         "committed).",
         stored.ack_latency},
        {"markerwatch_commit_batch_size", "Messages and writes per group commit.",
         stored.batch_sizes}};
  };
  sources.gauges = [&] {
    std::map<std::string, double> gauges{
        {"markerwatch_mllp_connections", mllp.active_connections()},
        {"markerwatch_http_connections", http_server ? http_server->active_connections() : 0},
        {"markerwatch_database_bytes", database_bytes(settings.storage.path)},
        {"markerwatch_config_last_reload_successful",
         !reloader || reloader->stats().last_applied ? 1.0 : 0.0}};
    const auto stored = writer.stats();
    for (const auto& [transport, at] : stored.last_message_at)
      gauges["markerwatch_last_message_timestamp_seconds{transport=\"" + transport + "\"}"] =
          static_cast<double>(at);
    for (const auto& [sender, at] : stored.last_message_by_sender)
      gauges["markerwatch_sender_last_message_timestamp_seconds{transport=\"" + sender.first +
             "\",sender=\"" + prometheus_label_value(sender.second) + "\"}"] =
          static_cast<double>(at);
    for (const auto& [listener, tls] : listener_tls().by_name()) {
      const auto validity = net::tls_validity(*tls);
      const auto labels = "{listener=\"" + listener + "\"}";
      gauges["markerwatch_tls_certificate_expiry_timestamp_seconds" + labels] =
          static_cast<double>(validity.certificate_not_after);
      if (validity.crl_next_update)
        gauges["markerwatch_tls_crl_next_update_timestamp_seconds" + labels] =
            static_cast<double>(*validity.crl_next_update);
    }
    return gauges;
  };
  ApiHandler api(initial, clock, writer, sources,
                 [&reloader](ConfigReloader::Done done) { reloader->reload(std::move(done)); });
  if (!settings.fhir.upstream.base_url.empty()) {
    upstream.emplace(settings.fhir.upstream, writer, clock, io);
    api.on_subscription_ping([&upstream] { upstream->notify(); });
  }
  // A reload takes effect in the writer first (mapping, rules, the outbox's receivers; the one
  // step that can fail), then in the webhook sender, the HTTP API (tokens, markers) and the log
  // level; systemd sees it as reloading meanwhile.
  reloader.emplace(config_path, initial, [&](auto next, auto applied) {
    // Certificates, keys and CAs are read again (renewed files); one that cannot be used refuses
    // the reload (it throws) before anything else changes.
    const auto renewed = load_listener_tls(*next);
    notify("RELOADING=1");
    writer.use_settings(next, [&, next, renewed, applied = std::move(applied)](auto failure) {
      if (!failure) {
        // Here, on the writer's thread before its next batch: no delivery queued for a new
        // receiver commits before the sender has been handed the receiver.
        sender.use_settings(next);
        if (renewed.http) http_server->use_tls(renewed.http);
        if (renewed.mllp) mllp.use_tls(renewed.mllp);
        if (renewed.http || renewed.mllp) tls_watch.check_soon();
        api.use_settings(next);
        set_log_level(next->log.level);
      }
      notify("READY=1");
      applied(std::move(failure));
    });
  });
  net::HttpServerOptions http_options;
  http_options.host = settings.http.listen.host;
  http_options.port = settings.http.listen.port;
  http_options.max_body_bytes = static_cast<std::uint64_t>(settings.http.max_body_bytes);
  http_options.max_header_bytes = static_cast<std::uint32_t>(settings.http.max_header_bytes);
  http_options.read_timeout = std::chrono::seconds(settings.http.read_timeout_s);
  http_options.max_connections = settings.http.max_connections;
  http_options.tls = tls.http;
  net::HttpServer http(io, http_options, api);
  http_server = &http;
  if (!start_listener(http, "http", settings.http.listen)) return 1;
  // Without receivers nothing is ever queued for the sender (notify::Outbox), and wake() then
  // costs the writer no system call.
  writer.set_on_commit([&sender] { sender.wake(); });
  // A batch's answers are handed to the event loop in one part per thread running it (two,
  // below: the main thread and mw-io).
  writer.set_completion_dispatch(
      [&io](std::function<void()> answer) { asio::post(io, std::move(answer)); }, 2);
  writer.start();
  sender.start();
  checkpointer.start();

  asio::signal_set signals(control, SIGTERM, SIGINT, SIGHUP);
  asio::steady_timer watchdog(control);
  std::atomic<bool> stopping = false;
  std::function<void()> wait_for_signal = [&] {
    signals.async_wait([&](boost::system::error_code ec, int signo) {
      if (ec) return;
      if (signo == SIGHUP) {
        spdlog::info("event=reload_requested source=sighup");
        reloader->reload([](bool, const std::string&) {});  // the reloader logs the outcome
        wait_for_signal();
        return;
      }
      stopping = true;
      spdlog::info("event=stopping signal={} open_connections={}", signo,
                   mllp.active_connections());
      notify("STOPPING=1");
      mllp.stop();
      api.set_stopping();
      http.stop();
      watchdog.cancel();
      tls_watch.stop();
      if (upstream) upstream->request_stop();
      signals.cancel();
    });
  };
  wait_for_signal();

  // Kicks the systemd watchdog from the event loop, so a stalled loop stops the kicks; and only
  // while the writer is not stuck in one batch for longer than a kick's interval (a writer that
  // hangs answers no message, while the loop still runs): systemd then restarts the service
  // (WatchdogSec) unless the batch finishes first.
  std::uint64_t watchdog_usec = 0;
  std::function<void()> kick_watchdog;
  bool kick_withheld = false;
  std::chrono::milliseconds longest_busy{0};  // while kicks are withheld
  if (sd_watchdog_enabled(0, &watchdog_usec) > 0 && watchdog_usec > 0) {
    const auto interval = std::chrono::microseconds(watchdog_usec / 2);
    kick_watchdog = [&, interval] {
      const auto busy = std::chrono::duration_cast<std::chrono::milliseconds>(writer.busy_for());
      if (busy < interval) {
        if (kick_withheld)
          spdlog::warn("event=watchdog_resumed writer_busy_ms_at_least={}", longest_busy.count());
        kick_withheld = false;
        longest_busy = {};
        notify("WATCHDOG=1");
      } else {
        if (!kick_withheld)
          spdlog::error("event=watchdog_withheld reason=writer_stalled writer_busy_ms={}",
                        busy.count());
        kick_withheld = true;
        longest_busy = std::max(longest_busy, busy);
      }
      watchdog.expires_after(interval);
      watchdog.async_wait([&](boost::system::error_code ec) {
        if (!ec && !stopping) kick_watchdog();
      });
    };
    asio::post(control, kick_watchdog);
  }

  // READY only now: migrations ran and the listener is bound.
  notify("READY=1");
  std::printf("READY mllp=%u http=%u\n", static_cast<unsigned>(mllp.port()),
              static_cast<unsigned>(http.port()));
  std::fflush(stdout);
  spdlog::info("event=ready mllp_port={} http_port={}", mllp.port(), http.port());
  tls_watch.start();
  if (upstream) upstream->start();

  // A handler that throws must not take the service down: log it and keep running the loop
  // (the connection concerned is lost, the others carry on).
  const auto run_io = [&io] {
    while (true) {
      try {
        io.run();
        return;
      } catch (const std::exception& e) {
        spdlog::error("event=handler_failed error=\"{}\"", text::printable(e.what(), 200));
      }
    }
  };
  std::thread second_io([&run_io] {
    pthread_setname_np(pthread_self(), "mw-io");
    run_io();
  });
  // The main thread keeps the process's name: `pgrep`, `pkill` and `top` know it as markerwatchd.
  run_io();
  second_io.join();
  if (upstream) upstream->stop();
  // Every connection has answered what it received. Requests in flight finish (bounded by their
  // timeouts) and hand their records to the writer; the rest stay queued. Then the writer drains
  // everything and closes the database.
  sender.stop();
  writer.stop();
  const auto stats = writer.stats();
  const auto sent = sender.stats();
  spdlog::info(
      "event=stopped messages={} commits={} failures={} delivery_attempts={} delivered={} "
      "dead={}",
      stats.messages, stats.commits, stats.failures, sent.attempts, sent.delivered, sent.dead);
  return 0;
}

}  // namespace markerwatch::app
