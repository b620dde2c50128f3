#pragma once
// One named logger per module (CONVENTIONS.md §2.3.11): the default logger's sinks and format
// under the module's name, registered so that a configuration reload's [log] level reaches it
// (spdlog::apply_all). Make each name once (a function-local static), after the default logger
// is set up; a second registration of a name throws.
#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace markerwatch::logging {

inline std::shared_ptr<spdlog::logger> module_logger(const std::string& name) {
  auto logger = spdlog::default_logger()->clone(name);
  spdlog::register_logger(logger);
  return logger;
}

}  // namespace markerwatch::logging
