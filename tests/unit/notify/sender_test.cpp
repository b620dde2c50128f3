// The sender's timing with an injected clock (no sleeps decide anything: the clock does), against
// a real local HTTP server on a socket.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

#include "ingest/store_writer.hpp"
#include "notify/sender.hpp"
#include "store/delivery_store.hpp"
#include "store/migrations.hpp"
#include "test_support.hpp"

using namespace markerwatch;

namespace {

// Answers each request with the next status of `script` (the last one repeats).
class ScriptedServer {
 public:
  // `header`: one more header line sent with every answer (e.g. "Retry-After: 120"); `delay`:
  // how long each answer waits after its request was counted.
  explicit ScriptedServer(std::vector<int> script, std::string header = "",
                          std::chrono::milliseconds delay = std::chrono::milliseconds(0))
      : script_(std::move(script)), header_(std::move(header)), delay_(delay) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    ::listen(fd_, 16);
    thread_ = std::thread([this] { serve(); });
  }
  ~ScriptedServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  int port() const { return port_; }
  int requests() const { return requests_; }

 private:
  void serve() {
    while (!stop_) {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string in;
      char buf[4096];
      // Read headers and the body (Content-Length).
      while (true) {
        const auto n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        in.append(buf, static_cast<std::size_t>(n));
        const auto end = in.find("\r\n\r\n");
        if (end == std::string::npos) continue;
        const auto cl = in.find("Content-Length: ");
        const std::size_t length = cl == std::string::npos ? 0 : std::stoul(in.substr(cl + 16));
        if (in.size() >= end + 4 + length) break;
      }
      const int status = script_[std::min<std::size_t>(requests_, script_.size() - 1)];
      ++requests_;
      std::this_thread::sleep_for(delay_);
      const std::string reply = "HTTP/1.1 " + std::to_string(status) + " X\r\n" +
                                (header_.empty() ? "" : header_ + "\r\n") +
                                "Content-Length: 2\r\nConnection: close\r\n\r\nok";
      ::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
      ::close(c);
    }
  }
  std::vector<int> script_;
  std::string header_;
  std::chrono::milliseconds delay_;
  int fd_ = -1, port_ = 0;
  std::atomic<int> requests_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Polls for up to 30 s: a loaded CI machine makes the test slower, never wrong.
store::DeliveryRow wait_for_attempts(store::DeliveryStore& s, std::size_t attempts) {
  for (int i = 0; i < 3000; ++i) {
    auto rows = s.list({});
    if (!rows.empty() && rows.front().attempt_log.size() >= attempts) return rows.front();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  FAIL("the sender did not make attempt " << attempts);
  return {};
}

// Polls for up to 30 s for the delivery `webhook_id` to satisfy `done`.
template <typename Done>
store::DeliveryRow wait_for_delivery(store::DeliveryStore& s, const std::string& webhook_id,
                                     Done done) {
  for (int i = 0; i < 3000; ++i) {
    for (const auto& row : s.list({}))
      if (row.webhook_id == webhook_id && done(row)) return row;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  FAIL("delivery " << webhook_id << " did not get where it should");
  return {};
}

// After the first request for a delivery whose attempt the store could not record: the delivery is
// not sent again at once, nor a second short of the minute it is held, and is once it has passed.
void expect_sent_again_a_minute_later(notify::Sender& sender, ManualClock& clock,
                                      const ScriptedServer& server) {
  REQUIRE(server.requests() == 1);
  for (int i = 0; i < 5; ++i) {
    sender.wake();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  clock.advance(std::chrono::seconds(59));
  sender.wake();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(server.requests() == 1);
  clock.advance(std::chrono::seconds(1));
  sender.wake();
  for (int i = 0; i < 3000 && server.requests() < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(server.requests() == 2);
}

// A migrated database with one receiver, an injected clock at t0, and a way to queue deliveries.
struct Outbox {
  static constexpr std::int64_t t0 = 1'800'000'000;
  Outbox(int port, std::vector<int> schedule) {
    settings.storage.path = (dir.path() / "mw.db").string();
    settings::WebhookSettings r;
    r.name = "team";
    r.url = "http://127.0.0.1:" + std::to_string(port) + "/hook";
    r.secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    r.retry_schedule = std::move(schedule);
    settings.webhooks.push_back(r);
    writer.emplace(settings, clock);
    writer->start();
  }
  // A sender that writes through the writer, as markerwatchd's does.
  notify::Sender::SubmitWrite submit_write() {
    return [this](notify::Sender::Write write, notify::Sender::WriteDone done) {
      writer->submit_write(std::move(write), "notify", std::move(done));
    };
  }
  void queue(const std::string& webhook_id) {
    deliveries.enqueue(
        {std::nullopt, std::nullopt, "team", webhook_id, "alert.new", "{}", "pending", "", t0},
        "2027-01-15T08:00:00Z");
  }
  test::TempDir dir;
  settings::Settings settings = test::utc_settings();
  store::Database db{(dir.path() / "mw.db").string(), store::OpenOptions{}};
  store::MigrationReport migrated = store::migrate(db);  // before the store prepares statements
  store::DeliveryStore deliveries{db};
  ManualClock clock{std::chrono::system_clock::time_point(std::chrono::seconds(t0))};
  std::optional<ingest::StoreWriter> writer;  // after the settings: it keeps a reference
};

}  // namespace

TEST_CASE("sender: retries on the schedule of the injected clock, then delivers once") {
  ScriptedServer server({500, 503, 200});
  Outbox o(server.port(), {0, 60, 600});
  auto& deliveries = o.deliveries;
  auto& clock = o.clock;
  const auto t0 = Outbox::t0;
  o.queue("mw_1_team");

  notify::Sender sender(o.settings, clock, o.submit_write());
  sender.start();
  auto row = wait_for_attempts(deliveries, 1);
  CHECK(row.attempt_log[0].http_status == 500);
  CHECK(row.state == "pending");
  CHECK(row.next_attempt_at == t0 + 60);
  // Real time passes, the injected clock does not: no second attempt.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  CHECK(server.requests() == 1);
  clock.advance(std::chrono::seconds(59));
  sender.wake();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(server.requests() == 1);  // one second short
  clock.advance(std::chrono::seconds(1));
  sender.wake();
  row = wait_for_attempts(deliveries, 2);
  CHECK(row.attempt_log[1].http_status == 503);
  CHECK(row.next_attempt_at == t0 + 60 + 600);
  clock.advance(std::chrono::seconds(600));
  sender.wake();
  row = wait_for_attempts(deliveries, 3);
  CHECK(row.state == "delivered");
  CHECK(row.attempts == 3);
  sender.stop();
  CHECK(server.requests() == 3);
  CHECK(sender.stats().delivered == 1);
}

TEST_CASE("sender: a receiver's Retry-After, in seconds or as an HTTP date, delays the next try") {
  // The schedule says 60 s; each receiver asks for longer, one in seconds, one by date (t0 is
  // Fri, 15 Jan 2027 08:00:00 GMT). A shorter wish is covered in notify_test.cpp.
  for (const auto& [header, expected_delay] :
       {std::pair<std::string, int>{"Retry-After: 120", 120},
        {"retry-after: Fri, 15 Jan 2027 08:15:00 GMT", 900}}) {
    CAPTURE(header);
    ScriptedServer server({503}, header);
    Outbox o(server.port(), {0, 60, 600});
    o.queue("mw_1_team");
    notify::Sender sender(o.settings, o.clock, o.submit_write());
    sender.start();
    const auto row = wait_for_attempts(o.deliveries, 1);
    sender.stop();
    CHECK(row.attempt_log[0].http_status == 503);
    CHECK(row.state == "pending");
    CHECK(row.next_attempt_at == Outbox::t0 + expected_delay);
  }
}

TEST_CASE("sender: a schedule run out is dead; a 400 is dead at once") {
  ScriptedServer failing({500});
  Outbox o(failing.port(), {0, 0});
  o.queue("mw_1_team");
  notify::Sender sender(o.settings, o.clock, o.submit_write());
  sender.start();
  auto row = wait_for_attempts(o.deliveries, 2);
  sender.stop();
  CHECK(row.state == "dead");
  CHECK(row.last_error.find("retry schedule exhausted after 2 attempts") != std::string::npos);

  ScriptedServer refusing({400});
  o.settings.webhooks[0].url = "http://127.0.0.1:" + std::to_string(refusing.port()) + "/hook";
  o.queue("mw_2_team");
  notify::Sender again(o.settings, o.clock, o.submit_write());
  again.start();
  row = wait_for_attempts(o.deliveries, 1);  // newest first: mw_2_team
  again.stop();
  CHECK(row.webhook_id == "mw_2_team");
  CHECK(row.state == "dead");
  CHECK(row.attempts == 1);
  CHECK(refusing.requests() == 1);
}

TEST_CASE(
    "sender: records through the writer; a delivery is not sent again while its record waits") {
  ScriptedServer server({200});
  Outbox o(server.port(), {0, 60});
  o.queue("mw_1_team");
  // The first write (start()'s) goes through at once; later ones wait until let go.
  struct HeldWrites {
    std::mutex mutex;
    std::vector<std::pair<notify::Sender::Write, notify::Sender::WriteDone>> held;
    bool holding = false;
    notify::Sender::SubmitWrite forward;
    void submit(notify::Sender::Write write, notify::Sender::WriteDone done) {
      std::unique_lock lock(mutex);
      if (holding) {
        held.emplace_back(std::move(write), std::move(done));
        return;
      }
      holding = true;
      lock.unlock();
      forward(std::move(write), std::move(done));
    }
    std::size_t let_go() {
      std::lock_guard lock(mutex);
      const auto n = held.size();
      for (auto& [write, done] : held) forward(std::move(write), std::move(done));
      held.clear();
      holding = false;
      return n;
    }
  } writes{{}, {}, false, o.submit_write()};
  notify::Sender sender(o.settings, o.clock,
                        [&](notify::Sender::Write write, notify::Sender::WriteDone done) {
                          writes.submit(std::move(write), std::move(done));
                        });
  // Whatever fails below, the sender's stop() must get its writes through.
  struct LetGo {
    HeldWrites& writes;
    ~LetGo() { writes.let_go(); }
  } let_go_at_end{writes};
  sender.start();
  for (int i = 0; i < 3000 && server.requests() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(server.requests() == 1);
  // Answered 200, but not yet recorded: the outbox still holds it as due. Looking again must not
  // send it a second time.
  for (int i = 0; i < 5; ++i) {
    sender.wake();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(server.requests() == 1);
  auto rows = o.deliveries.list({});
  REQUIRE(rows.size() == 1);
  CHECK(rows.front().state == "pending");
  CHECK(rows.front().attempt_log.empty());  // the sender wrote nothing on its own
  CHECK(writes.let_go() == 1);
  auto row = wait_for_attempts(o.deliveries, 1);
  CHECK(row.state == "delivered");
  CHECK(row.attempt_log[0].http_status == 200);
  sender.wake();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(server.requests() == 1);
  sender.stop();
  CHECK(sender.stats().delivered == 1);
}

TEST_CASE(
    "sender: an attempt whose record fails in the writer is sent again a minute later under the "
    "same id, and then recorded") {
  ScriptedServer server({200});
  Outbox o(server.port(), {0, 60});
  o.queue("mw_1_team");
  // The first write (start()'s) goes through; later ones fail in the writer, as on a full disk,
  // until the test lets them through.
  std::atomic<int> writes{0}, refusals_answered{0};
  std::atomic<bool> refusing{true};
  auto forward = o.submit_write();
  notify::Sender sender(
      o.settings, o.clock, [&](notify::Sender::Write write, notify::Sender::WriteDone done) {
        if (writes++ > 0 && refusing) {
          write = [](store::Database&) {
            throw store::StoreError("statement failed: disk I/O error");
          };
          done = [done = std::move(done), &refusals_answered](std::optional<std::string> failure) {
            done(std::move(failure));
            ++refusals_answered;
          };
        }
        forward(std::move(write), std::move(done));
      });
  sender.start();
  // The sender has then been told (and holds the delivery from the clock's time of then).
  for (int i = 0; i < 3000 && refusals_answered < 1; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(refusals_answered == 1);  // the attempt's record, refused
  refusing = false;
  auto rows = o.deliveries.list({});
  REQUIRE(rows.size() == 1);
  CHECK(rows.front().state == "pending");
  CHECK(rows.front().attempt_log.empty());
  expect_sent_again_a_minute_later(sender, o.clock, server);
  const auto row = wait_for_attempts(o.deliveries, 1);
  CHECK(row.webhook_id == "mw_1_team");  // the same delivery: receivers drop the repeat by id
  CHECK(row.state == "delivered");
  CHECK(row.attempt_log[0].http_status == 200);
  sender.stop();
}

TEST_CASE("sender: with the writer stopped first it cannot start, and it stops without waiting") {
  ScriptedServer server({200});
  Outbox o(server.port(), {0, 60});
  o.writer->stop();
  notify::Sender refused(o.settings, o.clock, o.submit_write());
  CHECK_THROWS_WITH(refused.start(),
                    "cannot enable the webhook receivers: the store writer has stopped");

  // Started, then the writer stops under it (a store that refuses every write, or the wrong order
  // at shutdown): the answered request cannot be recorded, so the delivery stays pending and is
  // sent again (at least once), but only after a minute of the injected clock, not in a loop as
  // fast as the receiver answers; and stop() returns instead of waiting for the writer forever.
  o.writer.emplace(o.settings, o.clock);
  o.writer->start();
  notify::Sender sender(o.settings, o.clock, o.submit_write());
  sender.start();
  o.writer->stop();
  o.queue("mw_1_team");
  sender.wake();
  for (int i = 0; i < 3000 && server.requests() < 1; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  expect_sent_again_a_minute_later(sender, o.clock, server);
  sender.stop();
  const auto rows = o.deliveries.list({});
  REQUIRE(rows.size() == 1);
  CHECK(rows.front().state == "pending");
  CHECK(rows.front().attempt_log.empty());
  CHECK(sender.stats().delivered == 2);
}

TEST_CASE(
    "sender: a reload's receivers: a 410 lifted by a changed configuration, a new receiver "
    "served, a removed one's deliveries dead") {
  ScriptedServer gone({410}), moved({200}), added({200});
  Outbox o(gone.port(), {0, 60});
  const auto url = [](const ScriptedServer& server) {
    return "http://127.0.0.1:" + std::to_string(server.port()) + "/hook";
  };
  const auto queue_for = [&o](const std::string& receiver, const std::string& webhook_id) {
    o.deliveries.enqueue({std::nullopt, std::nullopt, receiver, webhook_id, "alert.new", "{}",
                          "pending", "", Outbox::t0},
                         "2027-01-15T08:00:00Z");
  };
  o.queue("mw_1_team");
  notify::Sender sender(o.settings, o.clock, o.submit_write());
  sender.start();
  auto row = wait_for_delivery(o.deliveries, "mw_1_team",
                               [](const auto& r) { return !r.attempt_log.empty(); });
  CHECK(row.last_status == 410);
  CHECK(row.state == "pending");

  // The reload: "team" moves (its configuration changed since the 410) and "ops" is new. As in
  // the daemon, the sender has them before a delivery for "ops" is committed.
  auto next = std::make_shared<settings::Settings>(o.settings);
  next->webhooks[0].url = url(moved);
  auto ops = next->webhooks[0];
  ops.name = "ops";
  ops.url = url(added);
  next->webhooks.push_back(ops);
  sender.use_settings(next);
  queue_for("ops", "mw_1_ops");
  sender.wake();
  // No clock advance: enabling "team" makes its waiting delivery due at once.
  row = wait_for_delivery(o.deliveries, "mw_1_team",
                          [](const auto& r) { return r.state == "delivered"; });
  CHECK(row.attempts == 2);
  row = wait_for_delivery(o.deliveries, "mw_1_ops",
                          [](const auto& r) { return r.state == "delivered"; });
  CHECK(row.attempts == 1);
  CHECK(gone.requests() == 1);
  CHECK(moved.requests() == 1);
  CHECK(added.requests() == 1);

  // A reload without "ops": what is queued for it is dead, saying why, and never sent.
  auto fewer = std::make_shared<settings::Settings>(*next);
  fewer->webhooks.pop_back();
  sender.use_settings(fewer);
  queue_for("ops", "mw_2_ops");
  sender.wake();
  row =
      wait_for_delivery(o.deliveries, "mw_2_ops", [](const auto& r) { return r.state == "dead"; });
  CHECK(row.last_error == "receiver 'ops' is no longer configured");
  CHECK(row.attempt_log.empty());

  // A reload that removes every receiver: what is still queued is dead as well.
  auto none = std::make_shared<settings::Settings>(*fewer);
  none->webhooks.clear();
  sender.use_settings(none);
  o.queue("mw_2_team");
  sender.wake();
  row =
      wait_for_delivery(o.deliveries, "mw_2_team", [](const auto& r) { return r.state == "dead"; });
  CHECK(row.last_error == "receiver 'team' is no longer configured");
  sender.stop();
  CHECK(moved.requests() == 1);
  CHECK(added.requests() == 1);
  CHECK(sender.stats().delivered == 2);
}

TEST_CASE("sender: a 410 answered after a reload changed the receiver does not disable it") {
  ScriptedServer gone({410}, "", std::chrono::milliseconds(500)), moved({200});
  Outbox o(gone.port(), {0, 60});
  o.queue("mw_1_team");
  notify::Sender sender(o.settings, o.clock, o.submit_write());
  sender.start();
  for (int i = 0; i < 3000 && gone.requests() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(gone.requests() == 1);
  // While the request waits for its answer, a reload moves the receiver.
  auto next = std::make_shared<settings::Settings>(o.settings);
  next->webhooks[0].url = "http://127.0.0.1:" + std::to_string(moved.port()) + "/hook";
  sender.use_settings(next);
  auto row = wait_for_delivery(o.deliveries, "mw_1_team",
                               [](const auto& r) { return !r.attempt_log.empty(); });
  CHECK(row.last_status == 410);
  CHECK(row.next_attempt_at == Outbox::t0 + 60);
  // Its next try goes to where the receiver is now, not held as disabled.
  o.clock.advance(std::chrono::seconds(60));
  sender.wake();
  row = wait_for_delivery(o.deliveries, "mw_1_team",
                          [](const auto& r) { return r.state == "delivered"; });
  CHECK(row.attempts == 2);
  sender.stop();
  CHECK(gone.requests() == 1);
  CHECK(moved.requests() == 1);
}
