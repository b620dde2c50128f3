#pragma once
// Tumor-marker values for the ingest benchmarks' generated traffic. Two models:
//  - realistic: each series (patient, marker) follows one course chosen at random: most stay
//    within normal limits with noise, some are stably elevated, some fall after treatment, a few
//    rise. Dates advance about a month per visit. This is what a hospital's feed looks like, and
//    most values change no alert.
//  - random: every value drawn uniformly from 0.1 to 5,000 (far above every ULN), dates shuffled:
//    nearly every value moves an alert, the worst case for the trend engine.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>

namespace markerwatch::bench {

enum class ValueModel { realistic, random };

inline bool parse_value_model(const std::string& name, ValueModel& out) {
  if (name == "realistic")
    out = ValueModel::realistic;
  else if (name == "random")
    out = ValueModel::random;
  else
    return false;
  return true;
}

// One series' course; next() gives the value at the following visit.
class SeriesCourse {
 public:
  SeriesCourse(double uln, std::mt19937& rng) : uln_(uln) {
    const double pick = std::uniform_real_distribution<double>(0, 1)(rng);
    if (pick < 0.80) {
      course_ = Course::normal;
      level_ = uln * std::uniform_real_distribution<double>(0.15, 0.7)(rng);
    } else if (pick < 0.92) {
      course_ = Course::elevated;
      level_ = uln * std::uniform_real_distribution<double>(1.5, 4.0)(rng);
    } else if (pick < 0.97) {
      course_ = Course::falling;
      level_ = uln * std::uniform_real_distribution<double>(10, 50)(rng);
    } else {
      course_ = Course::rising;
      level_ = uln * std::uniform_real_distribution<double>(0.5, 1.5)(rng);
    }
  }

  double next(std::mt19937& rng) {
    const double noisy = level_ * std::normal_distribution<double>(1.0, 0.08)(rng);
    if (course_ == Course::falling) level_ = std::max(level_ * 0.55, uln_ * 0.4);
    if (course_ == Course::rising) level_ *= std::uniform_real_distribution<double>(1.15, 1.4)(rng);
    return std::max(noisy, 0.1);
  }

 private:
  enum class Course { normal, elevated, falling, rising };
  double uln_;
  Course course_;
  double level_;
};

// A value as the lab prints it: one decimal, below the detection limit as "<0.5".
inline std::string lab_text(double value) {
  char text[32];
  if (value < 0.5) return "<0.5";
  std::snprintf(text, sizeof text, "%.1f", value);
  return text;
}

// The calendar date `days` after 2015-01-01.
inline std::chrono::year_month_day date_after(int days) {
  using namespace std::chrono;
  return year_month_day{sys_days{year{2015} / January / 1} + std::chrono::days{days}};
}

}  // namespace markerwatch::bench
