// MLLP load generator: C connections, each sends realistic ORU^R01 messages (1-3 OBX) and waits
// for the ACK before the next (as interface engines do); every ACK is verified (MSA-1 = AA,
// MSA-2 = the sent MSH-10). Prints messages/s and ACK latency p50/p99/max. Every connection runs
// on one thread. With --write FILE it sends nothing and writes the messages the connections would
// send (in the order of their turns, one per connection in each) to FILE, for `markerwatch import`.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "value_model.hpp"

namespace {

namespace mb = markerwatch::bench;

using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  int port = 2575;
  int connections = 32;
  double seconds = 10;
  double warmup = 1;
  std::string run_id;
  long messages = 0;  // per connection; 0: until the time is up
  int patients = 5000;
  mb::ValueModel model = mb::ValueModel::realistic;
};

struct ConnectionResult {
  std::vector<double> latencies_us;  // measured ACKs only
  long acks = 0;                     // the warm-up's too
  long bad_acks = 0;
  std::string error;
};

// The traffic one connection sends. Realistic: the connection owns its patients (index,
// index + C, ...), each visit carries the next values of that patient's courses, a month later.
class MessageSource {
 public:
  MessageSource(const Options& o, int index)
      : options_(o), index_(index), rng_(static_cast<unsigned>(index * 7919 + 17)) {}

  std::string next(const std::string& control_id) {
    static const struct {
      const char *code, *name, *unit, *range;
      double uln;
    } tests[] = {{"1834-1", "AFP", "ng/mL", "0-10", 10},
                 {"2039-6", "CEA", "ng/mL", "0-5", 5},
                 {"2857-1", "PSA", "ng/mL", "0-4", 4}};
    std::uniform_int_distribution<int> obx_count(1, 3), day(1, 28), value(1, 40000);
    const int n = obx_count(rng_);
    const bool realistic = options_.model == mb::ValueModel::realistic;
    int patient_number;
    char when[32];
    Patient* patient = nullptr;
    if (realistic) {
      const int owned = std::max(
          1, (options_.patients - index_ + options_.connections - 1) / options_.connections);
      const int k = std::uniform_int_distribution<int>(0, owned - 1)(rng_);
      patient_number = index_ + k * options_.connections + 1;
      patient = &patients_[patient_number];
      if (patient->courses.empty())
        for (const auto& t : tests) patient->courses.emplace_back(t.uln, rng_);
      const auto date = mb::date_after(patient->visits++ * 30 + patient_number % 28);
      std::snprintf(when, sizeof when, "%04d%02u%02u0830", int(date.year()), unsigned(date.month()),
                    unsigned(date.day()));
    } else {
      patient_number = std::uniform_int_distribution<int>(1, options_.patients)(rng_);
      std::snprintf(when, sizeof when, "202401%02d0830", day(rng_));
    }
    std::string m = "MSH|^~\\&|LABSYS|GENHOSP|MARKERWATCH|ONCOLOGY|" + std::string(when) +
                    "||ORU^R01^ORU_R01|" + control_id + "|P|2.5.1\r";
    m += "PID|1||MRN" + std::to_string(patient_number) + "^^^GENHOSP^MR||DOE^JANE||19600101|F\r";
    m += "ORC|RE|PL" + control_id + "|FL" + control_id + "\r";
    m +=
        "OBR|1|PL" + control_id + "|FL" + control_id + "|24362-6^Tumor markers^LN|||" + when + "\r";
    for (int i = 0; i < n; ++i) {
      std::string v;
      if (realistic) {
        v = mb::lab_text(patient->courses[static_cast<std::size_t>(i)].next(rng_));
      } else {
        const int drawn = value(rng_);
        v = std::to_string(drawn / 10) + "." + std::to_string(value(rng_) % 10);
      }
      m += "OBX|" + std::to_string(i + 1) + "|NM|" + tests[i].code + "^" + tests[i].name + "^LN||" +
           v + "|" + tests[i].unit + "^^UCUM|" + (realistic ? tests[i].range : "0-10") +
           "|N|||F|||" + when + "\r";
    }
    return m;
  }

 private:
  struct Patient {
    int visits = 0;
    std::vector<mb::SeriesCourse> courses;
  };
  const Options& options_;
  int index_;
  std::mt19937 rng_;
  std::unordered_map<int, Patient> patients_;
};

int connect_to(const Options& o) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(o.port));
  ::inet_pton(AF_INET, o.host.c_str(), &addr.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  timeval tv{30, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

bool ack_ok(const std::string& ack, const std::string& control_id) {
  auto msa = ack.find("\rMSA|");
  if (msa == std::string::npos) return false;
  auto fields = ack.substr(msa + 5);
  auto bar = fields.find('|');
  if (bar == std::string::npos || fields.substr(0, bar) != "AA") return false;
  auto rest = fields.substr(bar + 1);
  auto end = rest.find_first_of("|\r\x1c^");
  return rest.substr(0, end) == control_id;
}

// One connection's state between its ACKs: every connection runs on the one thread below.
struct Connection {
  Connection(const Options& o, int index, ConnectionResult& result)
      : source(o, index), index(index), out(result) {}
  MessageSource source;
  int index;
  ConnectionResult& out;
  int fd = -1;
  long seq = 0;
  std::string control_id;
  std::string buffer;
  Clock::time_point sent;

  bool send_next(const Options& o) {
    control_id = o.run_id + "-" + std::to_string(index) + "-" + std::to_string(seq++);
    const std::string frame = "\x0b" + source.next(control_id) + "\x1c\r";
    sent = Clock::now();
    // A blocking socket: a frame of a few hundred bytes goes out in one call.
    if (::send(fd, frame.data(), frame.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(frame.size())) {
      out.error = "send failed";
      return false;
    }
    return true;
  }
};

// All connections on one thread, waiting with epoll: 32 blocking threads, one per connection,
// shared the server's two cores with it and woke one by one (bench/README.md).
// Returns when the last ACK came.
Clock::time_point run_connections(const Options& o, Clock::time_point measure_from,
                                  Clock::time_point stop_at,
                                  std::vector<ConnectionResult>& results) {
  auto last_ack = measure_from;
  std::vector<std::unique_ptr<Connection>> connections;
  const int poller = ::epoll_create1(EPOLL_CLOEXEC);
  if (poller < 0) {
    for (auto& r : results) r.error = "epoll_create1 failed";
    return last_ack;
  }
  int open = 0;
  for (int i = 0; i < o.connections; ++i) {
    auto c = std::make_unique<Connection>(o, i, results[static_cast<std::size_t>(i)]);
    c->fd = connect_to(o);
    if (c->fd < 0) {
      c->out.error = "connect failed";
      continue;
    }
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.ptr = c.get();
    ::epoll_ctl(poller, EPOLL_CTL_ADD, c->fd, &event);
    if (!c->send_next(o)) {
      ::close(c->fd);
      continue;
    }
    ++open;
    connections.push_back(std::move(c));
  }
  auto finish = [&](Connection& c, const char* error) {
    if (error) c.out.error = error;
    ::epoll_ctl(poller, EPOLL_CTL_DEL, c.fd, nullptr);
    ::close(c.fd);
    c.fd = -1;
    --open;
  };
  std::vector<epoll_event> ready(static_cast<std::size_t>(std::max(1, o.connections)));
  char chunk[65536];
  while (open > 0) {
    const int n = ::epoll_wait(poller, ready.data(), static_cast<int>(ready.size()), 30000);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      for (auto& c : connections)
        if (c->fd >= 0) finish(*c, "timed out waiting for an ACK");
      break;
    }
    for (int k = 0; k < n; ++k) {
      auto& c = *static_cast<Connection*>(ready[static_cast<std::size_t>(k)].data.ptr);
      if (c.fd < 0) continue;
      const ssize_t got_bytes = ::recv(c.fd, chunk, sizeof chunk, 0);
      if (got_bytes <= 0) {
        finish(c, "connection closed waiting for an ACK");
        continue;
      }
      c.buffer.append(chunk, static_cast<std::size_t>(got_bytes));
      const auto end = c.buffer.find("\x1c\r");
      if (end == std::string::npos) continue;  // the rest of the ACK is still on its way
      const auto got = Clock::now();
      last_ack = got;
      const std::string ack = c.buffer.substr(0, end);
      c.buffer.erase(0, end + 2);
      ++c.out.acks;
      if (!ack_ok(ack, c.control_id)) ++c.out.bad_acks;
      if (c.sent >= measure_from)
        c.out.latencies_us.push_back(
            std::chrono::duration<double, std::micro>(got - c.sent).count());
      if (!c.buffer.empty()) {
        finish(c, "an ACK nobody asked for");
      } else if (got >= stop_at || (o.messages > 0 && c.seq >= o.messages)) {
        finish(c, nullptr);
      } else if (!c.send_next(o)) {
        finish(c, nullptr);
      }
    }
  }
  ::close(poller);
  return last_ack;
}

// The messages `messages` turns of every connection would send, to a file: CR segment ends, a
// line feed between messages (as HL7 batch files and interface engines' dumps have them).
int write_messages(const Options& o, const std::string& path) {
  std::ofstream out(path, std::ios::binary);
  std::vector<MessageSource> sources;
  for (int i = 0; i < o.connections; ++i) sources.emplace_back(o, i);
  std::string message;
  for (long seq = 0; seq < o.messages; ++seq)
    for (int i = 0; i < o.connections; ++i) {
      message = sources[static_cast<std::size_t>(i)].next(o.run_id + "-" + std::to_string(i) + "-" +
                                                          std::to_string(seq));
      out << message << '\n';
    }
  out.close();
  if (!out) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    return 1;
  }
  std::printf("wrote=%ld file=%s\n", o.messages * o.connections, path.c_str());
  return 0;
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"MLLP load generator for markerwatchd and baseline peers"};
  app.add_option("--host", o.host, "server address (IPv4)");
  std::string write_to;
  auto* port = app.add_option("--port", o.port, "server port");
  app.add_option("--write", write_to,
                 "send nothing: write the messages of --messages turns of every connection to "
                 "this file")
      ->excludes(port);
  app.add_option("-c,--connections", o.connections, "concurrent connections");
  app.add_option("-d,--seconds", o.seconds, "measured duration");
  app.add_option("--warmup", o.warmup, "seconds before measuring");
  app.add_option("--run-id", o.run_id, "control id prefix (default: time based)");
  app.add_option("--messages", o.messages,
                 "messages per connection, then it closes (default: until the time is up); "
                 "the same run id and count send the same messages again")
      ->check(CLI::PositiveNumber);
  std::string model_name = "realistic";
  app.add_option("--patients", o.patients, "distinct patients")->check(CLI::PositiveNumber);
  app.add_option("--values", model_name, "value model: realistic or random (worst case)");
  CLI11_PARSE(app, argc, argv);
  if (!mb::parse_value_model(model_name, o.model)) {
    std::fprintf(stderr, "--values: expected realistic or random\n");
    return 2;
  }
  if (o.run_id.empty())
    o.run_id = "L" + std::to_string(std::chrono::system_clock::now().time_since_epoch().count() %
                                    100000000);
  if (!write_to.empty()) {
    if (o.messages == 0) {
      std::fprintf(stderr, "--write needs --messages\n");
      return 2;
    }
    return write_messages(o, write_to);
  }
  if (port->count() == 0) {
    std::fprintf(stderr, "--port is required (or --write FILE)\n");
    return 2;
  }

  const auto start = Clock::now();
  const auto measure_from =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.warmup));
  const auto stop_at = measure_from + std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::duration<double>(o.seconds));
  std::vector<ConnectionResult> results(static_cast<std::size_t>(o.connections));
  const auto last_ack = run_connections(o, measure_from, stop_at, results);
  std::vector<double> all;
  long bad = 0, acks = 0;
  int failed = 0;
  for (auto& r : results) {
    acks += r.acks;
    all.insert(all.end(), r.latencies_us.begin(), r.latencies_us.end());
    bad += r.bad_acks;
    if (!r.error.empty()) {
      ++failed;
      std::fprintf(stderr, "connection error: %s\n", r.error.c_str());
    }
  }
  // With a message count the connections may all be done before the time is up.
  const double measured =
      o.messages > 0
          ? std::chrono::duration<double>(std::min(last_ack, stop_at) - measure_from).count()
          : o.seconds;
  const double rate = measured > 0 ? static_cast<double>(all.size()) / measured : 0;
  const double p50 = percentile(all, 0.50) / 1000, p99 = percentile(all, 0.99) / 1000;
  const double max = all.empty() ? 0 : *std::max_element(all.begin(), all.end()) / 1000;
  std::printf(
      "connections=%d messages=%zu msg_per_s=%.0f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f bad_acks=%ld "
      "failed_connections=%d acks_with_warmup=%ld\n",
      o.connections, all.size(), rate, p50, p99, max, bad, failed, acks);
  return bad == 0 && failed == 0 ? 0 : 1;
}
