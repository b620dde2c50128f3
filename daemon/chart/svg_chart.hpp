#pragma once
// One marker of one patient drawn as a self-contained SVG, in the manner of the seed case
// report's Figure 5: values on a log scale over time, the ULN, milestones as labelled vertical
// lines (courses as bands), alerts as labelled points at their fire dates, censored values with
// an arrow beyond their bound. Pure: data in, SVG text out (no fonts, scripts or links).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/numeric_value.hpp"

namespace markerwatch::chart {

struct Point {
  int day = 0;  // days since 1970-01-01 (core/calendar)
  double value = 0.0;
  Comparator comparator = Comparator::none;
  bool evaluated = true;  // false: preliminary, drawn hollow and not joined
};

struct Milestone {
  int day = 0;
  std::optional<int> end_day;  // a course: drawn as a band
  std::string label;           // e.g. "resection"
  std::string note;            // shown on hover
};

struct AlertMark {
  std::int64_t id = 0;
  int day = 0;  // fire date
  double value = 0.0;
  std::string label;  // e.g. "#2 R_RISE"
  bool high = false;
  bool retracted = false;
  std::string summary;  // shown on hover
};

struct ChartData {
  std::string title;  // e.g. "AFP, patient case-001"
  std::string unit;
  std::optional<double> uln;
  std::vector<Point> points;
  std::vector<Milestone> milestones;
  std::vector<AlertMark> alerts;
};

std::string render_svg(const ChartData& data);

// Text safe inside SVG/XML character data and attribute values.
std::string xml_escape(std::string_view text);

}  // namespace markerwatch::chart
