#include "app/config_reload.hpp"

#include <spdlog/spdlog.h>

#include "core/text.hpp"
#include "logging/module_logger.hpp"

namespace markerwatch::app {

namespace {
std::shared_ptr<spdlog::logger> log() {
  static auto logger = logging::module_logger("config");
  return logger;
}
}  // namespace

ConfigReloader::ConfigReloader(std::string path, std::shared_ptr<const settings::Settings> running,
                               Apply apply)
    : path_(std::move(path)), apply_(std::move(apply)), running_(std::move(running)) {}

std::shared_ptr<const settings::Settings> ConfigReloader::running() const {
  std::lock_guard lock(mutex_);
  return running_;
}

ConfigReloader::Stats ConfigReloader::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void ConfigReloader::finish(bool applied, const std::string& detail, const Done& done) {
  {
    std::lock_guard lock(mutex_);
    in_progress_ = false;
    ++(applied ? stats_.applied : stats_.refused);
    stats_.last_applied = applied;
  }
  if (applied)
    log()->info("event=config_reloaded {}", detail);  // the effective settings, with their file
  else
    log()->warn("event=config_reload_refused source={} reason=\"{}\"", text::printable(path_, 200),
                text::printable(detail, 400));
  done(applied, detail);
}

void ConfigReloader::reload(Done done) {
  std::shared_ptr<const settings::Settings> running;
  {
    std::lock_guard lock(mutex_);
    if (in_progress_) {
      // Counted, but the one in progress decides whether the latest reload was applied.
      ++stats_.refused;
      log()->warn("event=config_reload_refused reason=\"a reload is in progress\"");
      done(false, "a reload is already in progress; try again when it is done");
      return;
    }
    in_progress_ = true;
    running = running_;
  }
  if (path_.empty())
    return finish(false,
                  "markerwatchd runs on its embedded defaults (no --config): there is no file to "
                  "reload",
                  done);
  std::shared_ptr<const settings::Settings> next;
  try {
    next = std::make_shared<const settings::Settings>(settings::load_settings_file(path_));
  } catch (const std::exception& e) {
    // ConfigError names the file, line and key; the running configuration stays.
    return finish(false, std::string("config error: ") + e.what() + "; nothing was changed", done);
  }
  if (const auto keys = settings::restart_only_changes(*running, *next); !keys.empty())
    return finish(false,
                  "these keys take effect only at a restart: " + text::join(keys, ", ") +
                      "; nothing was changed",
                  done);
  try {
    apply_(next, [this, next, done](std::optional<std::string> failure) {
      if (failure)
        return finish(false, "not applied (" + *failure + "); nothing was changed", done);
      {
        std::lock_guard lock(mutex_);
        running_ = next;
      }
      finish(true, settings::describe(*next), done);
    });
  } catch (const std::exception& e) {
    finish(false, std::string("not applied (") + e.what() + "); nothing was changed", done);
  }
}

}  // namespace markerwatch::app
