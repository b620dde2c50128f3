#include "app/logging.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>

namespace markerwatch::app {

void setup_logging(const std::string& level) {
  auto logger = spdlog::stdout_logger_mt("markerwatch");
  const bool journal = std::getenv("JOURNAL_STREAM") != nullptr;
  logger->set_pattern(journal ? "%l %n %v" : "%Y-%m-%dT%H:%M:%S.%e%z %l %n %v");
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

void set_log_level(const std::string& level) {
  const auto threshold = spdlog::level::from_str(level);
  spdlog::apply_all(
      [threshold](const std::shared_ptr<spdlog::logger>& logger) { logger->set_level(threshold); });
}

}  // namespace markerwatch::app
