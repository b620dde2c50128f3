// A configuration reload: parse, validate, refuse what needs a restart, then swap; on any refusal
// the running settings stay.
#include "app/config_reload.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <functional>
#include <optional>

#include "test_support.hpp"

using namespace markerwatch;

namespace {

// The running file with a changed log level (which a reload may change).
const std::string kDebugLevel = "[ingest]\ndefault_timezone = \"UTC\"\n[log]\nlevel = \"debug\"\n";

struct ReloadFixture {
  test::TempDir dir;
  std::string path = (dir.path() / "markerwatch.toml").string();
  std::shared_ptr<const settings::Settings> started;
  std::shared_ptr<const settings::Settings> applied_with;
  int applies = 0;
  // What the parts answer: nullopt (taken up) unless a test says otherwise; `hold` keeps the
  // answer back, as a busy writer would.
  std::optional<std::string> apply_failure;
  bool hold = false;
  std::function<void(std::optional<std::string>)> held;
  std::unique_ptr<app::ConfigReloader> reloader;

  ReloadFixture() {
    write("[ingest]\ndefault_timezone = \"UTC\"\n");
    started = std::make_shared<const settings::Settings>(settings::load_settings_file(path));
    reloader = std::make_unique<app::ConfigReloader>(path, started, [this](auto next, auto answer) {
      ++applies;
      applied_with = next;
      if (hold)
        held = std::move(answer);
      else
        answer(apply_failure);
    });
  }
  void write(const std::string& toml) const { std::ofstream(path) << toml; }
  std::pair<bool, std::string> reload() const {
    std::optional<std::pair<bool, std::string>> outcome;
    reloader->reload([&](bool ok, std::string detail) { outcome.emplace(ok, std::move(detail)); });
    REQUIRE(outcome);
    return *outcome;
  }
};

}  // namespace

TEST_CASE("reload: a valid file is parsed, handed over and then in force") {
  ReloadFixture f;
  f.write(kDebugLevel + "[markers.AFP]\nlocal_codes = [\"L|AFPX\"]\n");
  const auto [applied, detail] = f.reload();
  CHECK(applied);
  CHECK_THAT(detail, Catch::Contains("debug"));
  REQUIRE(f.applies == 1);
  CHECK(f.applied_with->log.level == "debug");
  CHECK(f.applied_with->markers.find_by_code("AFPX", "L")->name == "AFP");
  CHECK(f.reloader->running() == f.applied_with);
}

TEST_CASE("reload: a file with an error is refused with its line, the running settings stay") {
  ReloadFixture f;
  f.write("[ingest]\ndefault_timezone = \"UTC\"\n[log]\nlevel = \"chatty\"\n");
  const auto [applied, detail] = f.reload();
  CHECK_FALSE(applied);
  CHECK_THAT(detail, Catch::Contains(f.path + ":4:") && Catch::Contains("log.level") &&
                         Catch::Contains("nothing was changed"));
  CHECK(f.applies == 0);
  CHECK(f.reloader->running() == f.started);

  for (const auto* bad : {"[ingest\n", "\xff\xfe[log]\n", "[log]\nlevel = 3\n", "[logs]\n"}) {
    INFO(bad);
    f.write(bad);
    CHECK_FALSE(f.reload().first);
  }
  std::filesystem::remove(f.path);
  CHECK_THAT(f.reload().second, Catch::Contains("config error"));
  CHECK(f.applies == 0);
  CHECK(f.reloader->running() == f.started);
}

TEST_CASE("reload: a change that needs a restart is refused whole, naming its keys") {
  ReloadFixture f;
  f.write(kDebugLevel + "[mllp]\nlisten = \"0.0.0.0:2575\"\n");
  const auto [applied, detail] = f.reload();
  CHECK_FALSE(applied);
  CHECK_THAT(detail, Catch::Contains("only at a restart: mllp.listen;"));
  CHECK(f.applies == 0);  // not even the log level
  CHECK(f.reloader->running() == f.started);
}

TEST_CASE("reload: when the parts cannot take it up, the running settings stay") {
  ReloadFixture f;
  f.apply_failure = "the store writer has stopped";
  const auto [applied, detail] = f.reload();
  CHECK_FALSE(applied);
  CHECK_THAT(detail, Catch::Contains("the store writer has stopped"));
  CHECK(f.applies == 1);
  CHECK(f.reloader->running() == f.started);
  CHECK_FALSE(f.reloader->stats().last_applied);
  // The next one may go through.
  f.apply_failure.reset();
  CHECK(f.reload().first);
  CHECK(f.reloader->running() != f.started);
  const auto stats = f.reloader->stats();
  CHECK(stats.applied == 1);
  CHECK(stats.refused == 1);
  CHECK(stats.last_applied);
}

TEST_CASE("reload: one at a time; one asked for meanwhile is refused") {
  ReloadFixture f;
  f.hold = true;
  std::optional<bool> first;
  f.reloader->reload([&](bool ok, const std::string&) { first = ok; });
  CHECK_FALSE(first);  // waiting for the parts
  const auto [applied, detail] = f.reload();
  CHECK_FALSE(applied);
  CHECK_THAT(detail, Catch::Contains("in progress"));
  REQUIRE(f.held);
  f.held(std::nullopt);
  CHECK(first == true);
  CHECK(f.reloader->stats().refused == 1);
  CHECK(f.reloader->stats().last_applied);  // the one that was in progress decides
  f.hold = false;
  CHECK(f.reload().first);
  CHECK(f.applies == 2);
}

TEST_CASE("reload: a daemon on its embedded defaults has nothing to reload") {
  app::ConfigReloader reloader("", std::make_shared<const settings::Settings>(),
                               [](auto, auto) { FAIL("nothing is applied"); });
  std::optional<std::string> detail;
  reloader.reload([&](bool ok, std::string why) {
    CHECK_FALSE(ok);
    detail = std::move(why);
  });
  REQUIRE(detail);
  CHECK_THAT(*detail, Catch::Contains("embedded defaults"));
}
