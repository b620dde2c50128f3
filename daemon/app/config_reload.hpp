#pragma once
// A configuration reload, for SIGHUP and POST /reload alike (CONVENTIONS.md §2.3.7): parse the
// file the daemon was started with, validate it whole, refuse it when it changes what only a
// restart can (settings::restart_only_changes), then hand it to the parts that use it. On any
// refusal the running configuration stays in force, untouched, and the reason is logged and
// answered.
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "settings/settings.hpp"

namespace markerwatch::app {

class ConfigReloader {
 public:
  // Called once per reload, on whichever thread finished it.
  using Done = std::function<void(bool applied, std::string detail)>;
  // Installs validated settings in the parts that use them, then calls its second argument with
  // the reason it could not (nullopt once they are in force).
  using Apply = std::function<void(std::shared_ptr<const settings::Settings> next,
                                   std::function<void(std::optional<std::string> failure)>)>;

  // `path`: the --config file; empty when the daemon runs on the embedded defaults.
  ConfigReloader(std::string path, std::shared_ptr<const settings::Settings> running, Apply apply);

  // One reload at a time: a second one asked for meanwhile is refused, not queued.
  void reload(Done done);
  std::shared_ptr<const settings::Settings> running() const;

  // For /metrics: reloads applied and refused so far, and whether the latest one was applied
  // (true before any), so that a file left with an error can be alerted on.
  struct Stats {
    std::uint64_t applied = 0, refused = 0;
    bool last_applied = true;
  };
  Stats stats() const;

 private:
  void finish(bool applied, const std::string& detail, const Done& done);

  const std::string path_;
  Apply apply_;
  mutable std::mutex mutex_;
  std::shared_ptr<const settings::Settings> running_;
  bool in_progress_ = false;
  Stats stats_;
};

}  // namespace markerwatch::app
