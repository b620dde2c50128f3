#pragma once
// `markerwatch replay`: the engine over files or a stored history, in arrival order, with no
// database writes and no notifications. Every event is handed to a sink as it would have been
// emitted live.
#include <functional>
#include <string>
#include <vector>

#include "engine/evaluate.hpp"
#include "engine/ledger.hpp"
#include "engine/reconcile.hpp"
#include "settings/settings.hpp"

namespace markerwatch::ingest {

struct ReplayedEvent {
  std::string patient;
  engine::Event event;
};

class Replayer {
 public:
  using Sink = std::function<void(const ReplayedEvent&)>;
  Replayer(const settings::Settings& settings, Sink sink);

  // A results or milestones CSV file, rows in file order. Rows that are not valid are skipped and
  // reported in rejections() as "file:line: reason"; a file that is not such a CSV throws.
  void feed_csv(std::string_view content, const std::string& path);
  // One input; false when it changed nothing. Throws InputError.
  bool add_result(const ResultRecord& r);
  bool add_milestone(const MilestoneRecord& m);

  const std::vector<std::string>& rejections() const { return rejections_; }
  const engine::AlertLedger& alerts() const { return alerts_; }

 private:
  void evaluate(const std::string& key, const std::vector<std::string>& scope);

  const settings::Settings& settings_;
  Sink sink_;
  engine::HistoryLedger history_;
  engine::AlertLedger alerts_;
  std::vector<std::string> rejections_;
};

}  // namespace markerwatch::ingest
