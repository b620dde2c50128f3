#include "chart/svg_chart.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "core/calendar.hpp"

namespace markerwatch::chart {

namespace {

constexpr double kWidth = 1000, kHeight = 570;
// The plot area: room above for milestone labels, below for years and the legend.
constexpr double kLeft = 72, kRight = kWidth - 28, kTop = 160, kBottom = kHeight - 86;
constexpr double kLabelGap = 13;  // rotated milestone labels closer than this would overlap
constexpr std::size_t kLabelChars = 18;
constexpr const char* kSeriesColour = "#1f4e79";
constexpr const char* kHighColour = "#c62828";
constexpr const char* kStandardColour = "#e65100";
constexpr const char* kMutedColour = "#757575";

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// A value as people read it on an axis or label: 0.1, 7, 35000.
std::string value_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, std::fabs(v) >= 1e6 ? "%.3g" : "%.6g", v);
  return buf;
}

std::string shorten(const std::string& s, std::size_t max) {
  if (s.size() <= max) return s;
  auto cut = s.substr(0, max - 1);
  while (!cut.empty() && (static_cast<unsigned char>(cut.back()) & 0xC0) == 0x80) cut.pop_back();
  if (!cut.empty() && static_cast<unsigned char>(cut.back()) >= 0xC0) cut.pop_back();
  return cut + "\u2026";
}

class Scale {
 public:
  Scale(const ChartData& d) {
    int first = INT32_MAX, last = INT32_MIN;
    double lo = INFINITY, hi = 0;
    auto day = [&](int x) {
      first = std::min(first, x);
      last = std::max(last, x);
    };
    auto value = [&](double v) {
      if (v > 0) {
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
    };
    for (const auto& p : d.points) {
      day(p.day);
      value(p.value);
    }
    for (const auto& m : d.milestones) {
      day(m.day);
      if (m.end_day) day(*m.end_day);
    }
    for (const auto& a : d.alerts) {
      day(a.day);
      value(a.value);
    }
    if (d.uln) value(*d.uln);
    if (first > last) first = last = 0;
    if (!(lo <= hi)) lo = hi = 1;
    const int pad = std::max(20, (last - first) / 40);
    first_ = first - pad;
    last_ = last + pad;
    lo_exp_ = static_cast<int>(std::floor(std::log10(lo)));
    hi_exp_ = static_cast<int>(std::ceil(std::log10(hi)));
    if (hi_exp_ <= lo_exp_) hi_exp_ = lo_exp_ + 1;
  }
  double x(int day) const {
    return kLeft + (kRight - kLeft) * (day - first_) / static_cast<double>(last_ - first_);
  }
  // Non-positive values sit on the axis floor.
  double y(double v) const {
    const double e = v > 0 ? std::log10(v) : lo_exp_;
    return kBottom - (kBottom - kTop) * (e - lo_exp_) / (hi_exp_ - lo_exp_);
  }
  int first_day() const { return first_; }
  int last_day() const { return last_; }
  int lo_exp() const { return lo_exp_; }
  int hi_exp() const { return hi_exp_; }

 private:
  int first_ = 0, last_ = 1, lo_exp_ = 0, hi_exp_ = 1;
};

void axes(std::ostringstream& o, const Scale& s) {
  o << "<g class=\"axes\" font-size=\"11\" fill=\"#333\">\n";
  for (int e = s.lo_exp(); e <= s.hi_exp(); ++e) {
    const double y = s.y(std::pow(10.0, e));
    o << "<line x1=\"" << kLeft << "\" x2=\"" << kRight << "\" y1=\"" << num(y) << "\" y2=\""
      << num(y) << "\" stroke=\"#e0e0e0\"/>\n";
    o << "<text x=\"" << kLeft - 6 << "\" y=\"" << num(y + 4) << "\" text-anchor=\"end\">"
      << value_text(std::pow(10.0, e)) << "</text>\n";
  }
  // Years: every year, or every 5th over long spans.
  const int first_year = std::stoi(format_day(s.first_day()).substr(0, 4));
  const int last_year = std::stoi(format_day(s.last_day()).substr(0, 4));
  const int step = last_year - first_year > 25 ? 5 : 1;
  for (int year = first_year + 1; year <= last_year; ++year) {
    if (year % step != 0) continue;
    const auto day = day_number(std::to_string(year) + "-01-01");
    if (!day) continue;
    const double x = s.x(*day);
    o << "<line x1=\"" << num(x) << "\" x2=\"" << num(x) << "\" y1=\"" << kBottom << "\" y2=\""
      << kBottom + 5 << "\" stroke=\"#333\"/>\n";
    o << "<text x=\"" << num(x) << "\" y=\"" << kBottom + 18 << "\" text-anchor=\"middle\">" << year
      << "</text>\n";
  }
  o << "<rect x=\"" << kLeft << "\" y=\"" << kTop << "\" width=\"" << kRight - kLeft
    << "\" height=\"" << kBottom - kTop << "\" fill=\"none\" stroke=\"#333\"/>\n</g>\n";
}

void milestones(std::ostringstream& o, const Scale& s, const std::vector<Milestone>& list) {
  o << "<g class=\"milestones\" font-size=\"11\" fill=\"#37474f\">\n";
  for (const auto& m : list) {
    if (!m.end_day) continue;
    const double x0 = s.x(m.day), x1 = s.x(*m.end_day);
    o << "<rect class=\"course\" x=\"" << num(x0) << "\" y=\"" << kTop << "\" width=\""
      << num(std::max(1.0, x1 - x0)) << "\" height=\"" << kBottom - kTop
      << "\" fill=\"#1565c0\" fill-opacity=\"0.08\"><title>" << xml_escape(m.label) << ": "
      << format_day(m.day) << " to " << format_day(*m.end_day)
      << (m.note.empty() ? "" : " (" + xml_escape(m.note) + ")") << "</title></rect>\n";
  }
  // Milestones on one day share one line and one label.
  std::map<int, std::vector<const Milestone*>> by_day;
  for (const auto& m : list) by_day[m.day].push_back(&m);
  // Labels of close days are pushed right, each joined to its line by a short leader.
  double next_free = -1e9;
  for (const auto& [day, items] : by_day) {
    std::string label, hover = format_day(day);
    for (const auto* m : items) {
      label += (label.empty() ? "" : ", ") + m->label;
      hover += "\n" + m->label + (m->note.empty() ? "" : ": " + m->note);
    }
    const double x = s.x(day);
    const double label_x = std::max(x + 4, next_free);
    next_free = label_x + kLabelGap;
    o << "<g class=\"milestone\"><title>" << xml_escape(hover) << "</title>";
    o << "<line x1=\"" << num(x) << "\" x2=\"" << num(x) << "\" y1=\"" << kTop << "\" y2=\""
      << kBottom << "\" stroke=\"#546e7a\" stroke-dasharray=\"2 3\"/>";
    if (label_x > x + 5)
      o << "<polyline points=\"" << num(x) << "," << kTop << " " << num(x) << "," << kTop - 4 << " "
        << num(label_x - 4) << "," << kTop - 10 << "\" fill=\"none\" stroke=\"#90a4ae\"/>";
    o << "<text transform=\"translate(" << num(label_x) << " " << kTop - 12 << ") rotate(-90)\">"
      << xml_escape(shorten(label, kLabelChars)) << "</text></g>\n";
  }
  o << "</g>\n";
}

void uln_line(std::ostringstream& o, const Scale& s, const ChartData& d) {
  if (!d.uln) return;
  const double y = s.y(*d.uln);
  o << "<g class=\"uln\"><line x1=\"" << kLeft << "\" x2=\"" << kRight << "\" y1=\"" << num(y)
    << "\" y2=\"" << num(y) << "\" stroke=\"#2e7d32\" stroke-dasharray=\"6 4\"/>";
  o << "<text x=\"" << kRight - 4 << "\" y=\"" << num(y - 4)
    << "\" text-anchor=\"end\" font-size=\"11\" fill=\"#2e7d32\">ULN " << value_text(*d.uln) << " "
    << xml_escape(d.unit) << "</text></g>\n";
}

void series(std::ostringstream& o, const Scale& s, const ChartData& d) {
  std::vector<Point> points = d.points;
  std::stable_sort(points.begin(), points.end(),
                   [](const Point& a, const Point& b) { return a.day < b.day; });
  o << "<g class=\"series\">\n<polyline fill=\"none\" stroke=\"" << kSeriesColour
    << "\" stroke-width=\"1.8\" points=\"";
  bool first = true;
  for (const auto& p : points) {
    if (!p.evaluated) continue;
    o << (first ? "" : " ") << num(s.x(p.day)) << "," << num(s.y(p.value));
    first = false;
  }
  o << "\"/>\n";
  for (const auto& p : points) {
    const double x = s.x(p.day), y = s.y(p.value);
    const auto shown = std::string(to_string(p.comparator)) + value_text(p.value);
    o << "<circle class=\"value" << (p.evaluated ? "" : " preliminary") << "\" cx=\"" << num(x)
      << "\" cy=\"" << num(y) << "\" r=\"3.5\" fill=\"" << (p.evaluated ? kSeriesColour : "#fff")
      << "\" stroke=\"" << kSeriesColour << "\"><title>" << format_day(p.day) << ": "
      << xml_escape(shown) << " " << xml_escape(d.unit) << (p.evaluated ? "" : " (preliminary)")
      << "</title></circle>\n";
    // A censored value: its true value lies beyond the bound, so an arrow points there.
    const bool above =
        p.comparator == Comparator::greater || p.comparator == Comparator::greater_equal;
    const bool below = p.comparator == Comparator::less || p.comparator == Comparator::less_equal;
    if (above || below) {
      const double tip = above ? y - 18 : y + 18, base = above ? y - 6 : y + 6;
      const double head = above ? tip + 5 : tip - 5;
      o << "<path class=\"censored\" d=\"M" << num(x) << " " << num(base) << " L" << num(x) << " "
        << num(tip) << " M" << num(x - 4) << " " << num(head) << " L" << num(x) << " " << num(tip)
        << " L" << num(x + 4) << " " << num(head) << "\" stroke=\"" << kSeriesColour
        << "\" stroke-width=\"1.5\" fill=\"none\"/>\n";
    }
  }
  o << "</g>\n";
}

void alerts(std::ostringstream& o, const Scale& s, const std::vector<AlertMark>& list) {
  o << "<g class=\"alerts\" font-size=\"11\" font-weight=\"bold\">\n";
  for (const auto& a : list) {
    const double x = s.x(a.day), y = s.y(a.value);
    const char* colour = a.retracted ? kMutedColour : a.high ? kHighColour : kStandardColour;
    o << "<g class=\"alert\" data-alert-id=\"" << a.id << "\"><title>" << xml_escape(a.summary)
      << "</title>";
    o << "<path d=\"M" << num(x) << " " << num(y - 8) << " L" << num(x + 8) << " " << num(y) << " L"
      << num(x) << " " << num(y + 8) << " L" << num(x - 8) << " " << num(y) << " Z\" fill=\""
      << (a.retracted ? "#fff" : colour) << "\" stroke=\"" << colour << "\" stroke-width=\"1.5\"/>";
    // Near the right edge the label goes to the left of its point.
    const auto label = shorten(a.label, 40);
    const bool left = x + 12 + 7.0 * static_cast<double>(label.size()) > kWidth;
    o << "<text x=\"" << num(left ? x - 10 : x + 10) << "\" y=\"" << num(y - 9)
      << (left ? "\" text-anchor=\"end" : "") << "\" fill=\"" << colour
      << "\" stroke=\"#fff\" stroke-width=\"3\" paint-order=\"stroke\">" << xml_escape(label)
      << "</text></g>\n";
  }
  o << "</g>\n";
}

void legend(std::ostringstream& o, const ChartData& d) {
  const double y = kHeight - 24;
  o << "<g class=\"legend\" font-size=\"11\" fill=\"#333\">\n";
  double x = kLeft;
  auto item = [&](const std::string& symbol, const std::string& text) {
    o << symbol << "<text x=\"" << num(x + 22) << "\" y=\"" << num(y + 4) << "\">"
      << xml_escape(text) << "</text>\n";
    x += 34 + 6.2 * static_cast<double>(text.size());
  };
  item("<line x1=\"" + num(x) + "\" x2=\"" + num(x + 16) + "\" y1=\"" + num(y) + "\" y2=\"" +
           num(y) + "\" stroke=\"" + kSeriesColour + "\" stroke-width=\"1.8\"/>",
       "value (" + d.unit + ", log scale)");
  item("<path d=\"M" + num(x + 8) + " " + num(y + 6) + " L" + num(x + 8) + " " + num(y - 7) + " M" +
           num(x + 4) + " " + num(y - 2) + " L" + num(x + 8) + " " + num(y - 7) + " L" +
           num(x + 12) + " " + num(y - 2) + "\" stroke=\"" + kSeriesColour +
           "\" fill=\"none\" stroke-width=\"1.5\"/>",
       "censored (beyond the bound)");
  item("<line x1=\"" + num(x) + "\" x2=\"" + num(x + 16) + "\" y1=\"" + num(y) + "\" y2=\"" +
           num(y) + "\" stroke=\"#2e7d32\" stroke-dasharray=\"6 4\"/>",
       "upper limit of normal");
  item("<path d=\"M" + num(x + 8) + " " + num(y - 7) + " L" + num(x + 15) + " " + num(y) + " L" +
           num(x + 8) + " " + num(y + 7) + " L" + num(x + 1) + " " + num(y) + " Z\" fill=\"" +
           kHighColour + "\"/>",
       "alert at its fire date (high / standard)");
  item("<rect x=\"" + num(x) + "\" y=\"" + num(y - 6) +
           "\" width=\"16\" height=\"12\" fill=\"#1565c0\" " + "fill-opacity=\"0.15\"/>",
       "course");
  o << "</g>\n";
}

}  // namespace

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        // XML 1.0 allows no control characters but tab and line feed.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n')
          out += ' ';
        else
          out += c;
    }
  }
  return out;
}

std::string render_svg(const ChartData& d) {
  const Scale scale(d);
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " << kWidth << " " << kHeight
    << "\" width=\"" << kWidth << "\" height=\"" << kHeight
    << "\" font-family=\"sans-serif\" role=\"img\" aria-labelledby=\"chart-title\">\n";
  o << "<title id=\"chart-title\">" << xml_escape(d.title) << "</title>\n";
  o << "<desc>" << d.points.size() << " values, " << d.milestones.size() << " milestones, "
    << d.alerts.size() << " alerts</desc>\n";
  o << "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n";
  o << "<text x=\"" << kLeft << "\" y=\"18\" font-size=\"15\" font-weight=\"bold\" fill=\"#222\">"
    << xml_escape(d.title) << "</text>\n";
  milestones(o, scale, d.milestones);
  axes(o, scale);
  uln_line(o, scale, d);
  series(o, scale, d);
  alerts(o, scale, d.alerts);
  legend(o, d);
  if (d.points.empty())
    o << "<text x=\"" << (kLeft + kRight) / 2 << "\" y=\"" << (kTop + kBottom) / 2
      << "\" text-anchor=\"middle\" fill=\"#757575\">no values</text>\n";
  o << "</svg>\n";
  return o.str();
}

}  // namespace markerwatch::chart
