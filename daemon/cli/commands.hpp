#pragma once
// The subcommands of `markerwatch`. Each returns the process exit code: 0 success, 1 the input
// had rejected parts, 2 a usage, configuration or database error.
#include <cstdint>
#include <string>
#include <vector>

#include "settings/settings.hpp"

namespace markerwatch::cli {

struct Common {
  std::string config_path;
  std::string db_path;  // wins over [storage] path
};

settings::Settings load_settings(const Common& c);

int cmd_check_config(const Common& c);
int cmd_import(const Common& c, const std::vector<std::string>& files);
int cmd_results(const Common& c, const std::string& patient, const std::string& marker,
                const std::string& format, bool all_versions);
struct MilestoneArgs {
  std::string patient, kind, date, end_date, note, markers;
};
int cmd_milestones_add(const Common& c, const MilestoneArgs& m);
int cmd_messages(const Common& c, const std::string& outcome, int limit, const std::string& format);
int cmd_message_show(const Common& c, std::int64_t id, bool raw);
int cmd_milestones_list(const Common& c, const std::string& patient, const std::string& format);

}  // namespace markerwatch::cli
