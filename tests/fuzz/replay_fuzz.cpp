// `markerwatch replay --milestones M.csv --results R.csv`: the trend engine over arbitrary
// histories. The input is the milestones file, a line "====", then the results file (without the
// line: results only). Properties:
// - a replay ends in events and rejected rows, or an InputError for a file that is no such CSV;
// - the JSON lines, the alert ids and the rejections are the same on one thread and on two (the
//   output does not depend on how patients are shared out);
// - every event names a patient, and every alert event an alert id.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/errors.hpp"
#include "engine/alert_json.hpp"
#include "fuzz_support.hpp"
#include "ingest/replay.hpp"

using namespace markerwatch;

namespace {

struct Replayed {
  std::string lines;
  std::vector<std::string> rejections;
  std::string refusal;  // InputError
};

Replayed replay(std::string_view milestones, std::string_view results, unsigned threads) {
  Replayed out;
  ingest::Replayer::Render render = [](const engine::Event& e, const std::string& patient,
                                       std::string& text) {
    std::pair<std::size_t, std::size_t> id_at;
    engine::append_event_json(text, e, patient, nullptr, &id_at);
    text.push_back('\n');
    return ingest::AlertIdAt{id_at.first, id_at.second};
  };
  ingest::Replayer replayer(
      fuzz::sample_settings(),
      [&](const ingest::ReplayedEvent& e) {
        fuzz::require(!e.patient.empty(), "an event without a patient");
        for (const auto piece : e.rendered) out.lines.append(piece);
      },
      threads, render);
  try {
    if (!milestones.empty()) replayer.feed_csv(milestones, "milestones.csv");
    replayer.feed_csv(results, "results.csv", /*last_input=*/true);
  } catch (const InputError& e) {
    out.refusal = e.what();
    fuzz::require(!out.refusal.empty(), "a file refused without a reason");
  }
  out.rejections = replayer.rejections();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  constexpr std::string_view kSeparator = "\n====\n";
  std::string_view milestones, results = input;
  if (const auto at = input.find(kSeparator); at != std::string_view::npos) {
    milestones = input.substr(0, at + 1);
    results = input.substr(at + kSeparator.size());
  }
  const auto one = replay(milestones, results, 1);
  const auto two = replay(milestones, results, 2);
  fuzz::require(one.lines == two.lines, "the events differ between one thread and two");
  fuzz::require(one.rejections == two.rejections,
                "the rejections differ between one thread and two");
  fuzz::require(one.refusal == two.refusal, "the refusal differs between one thread and two");
  return 0;
}
