// Charts: what the SVG shows (values on a log scale, censoring arrows, ULN, milestones and
// courses, alerts), that it is self-contained and escapes what people typed, and what the loader
// reads for the seed case.
#include <catch2/catch.hpp>
#include <regex>

#include "chart/chart_source.hpp"
#include "core/calendar.hpp"
#include "ingest/pipeline_fixture.hpp"

using namespace markerwatch;

namespace {

int day(const char* iso) {
  return *day_number(iso);
}

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1))
    ++n;
  return n;
}

// The cy of each value point, in drawing order.
std::vector<double> point_heights(const std::string& svg) {
  std::vector<double> out;
  static const std::regex re(R"re(<circle class="value[^"]*" cx="[0-9.]+" cy="([0-9.]+)")re");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), re); it != std::sregex_iterator();
       ++it)
    out.push_back(std::stod((*it)[1]));
  return out;
}

chart::ChartData sample() {
  chart::ChartData d;
  d.title = "AFP, patient P-1";
  d.unit = "ng/mL";
  d.uln = 10;
  d.points = {{day("2015-01-01"), 3.0, Comparator::none, true},
              {day("2015-06-01"), 35000, Comparator::greater, true},
              {day("2015-09-01"), 1.0, Comparator::less, true},
              {day("2015-10-01"), 50, Comparator::none, false}};
  d.milestones = {{day("2015-02-01"), day("2015-05-01"), "haic_start", "HAIC <course>"},
                  {day("2015-07-01"), std::nullopt, "resection", "S5 & S6"}};
  d.alerts = {{7, day("2015-06-01"), 35000, "#7 R_RISE", true, false, "AFP rose \"a lot\""},
              {8, day("2015-09-01"), 1.0, "#8 R_ABS", false, true, "retracted"}};
  return d;
}

}  // namespace

TEST_CASE("chart: values on a log scale, censoring, ULN, milestones, courses and alerts",
          "[chart]") {
  const auto svg = chart::render_svg(sample());
  CHECK(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
  CHECK(count(svg, "<circle class=\"value") == 4);
  CHECK(count(svg, "class=\"value preliminary\"") == 1);
  // Log scale: 35000 is highest, 1.0 lowest; 3 sits between 1 and 10 at log10(3) ~ 0.48 of it.
  const auto y = point_heights(svg);
  REQUIRE(y.size() == 4);
  CHECK(y[1] < y[3]);
  CHECK(y[3] < y[0]);
  CHECK(y[0] < y[2]);
  CHECK(count(svg, "class=\"censored\"") == 2);  // >35000 up, <1.0 down
  CHECK_THAT(svg, Catch::Contains(">ULN 10 ng/mL</text>"));
  CHECK(count(svg, "<rect class=\"course\"") == 1);
  CHECK(count(svg, "class=\"milestone\"") == 2);
  CHECK(count(svg, "data-alert-id=") == 2);
  CHECK_THAT(svg, Catch::Contains(">#7 R_RISE</text>") && Catch::Contains(">#8 R_ABS</text>"));
  CHECK_THAT(svg, Catch::Contains(">2015</text>") && Catch::Contains(">10000</text>"));
  // Only the preliminary value is left out of the line.
  CHECK(count(svg, "<polyline fill=\"none\" stroke=\"#1f4e79\"") == 1);
}

TEST_CASE("chart: self-contained, and what people typed is escaped", "[chart][bad-input]") {
  auto d = sample();
  d.milestones[1].note = "<script>alert(1)</script>\x01";
  d.milestones[1].label = "x\"><script>";
  d.title = "AFP, patient <img src=x onerror=alert(1)>";
  const auto svg = chart::render_svg(d);
  CHECK(svg.find("<script") == std::string::npos);
  CHECK(svg.find("<img") == std::string::npos);
  CHECK(svg.find('\x01') == std::string::npos);
  CHECK_THAT(svg, Catch::Contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
  CHECK_THAT(
      svg, Catch::Contains("HAIC &lt;course&gt;") && Catch::Contains("x&quot;&gt;&lt;script&gt;"));
  // Nothing is loaded from elsewhere: the only URL is the SVG namespace.
  CHECK(count(svg, "http") == 1);
  CHECK(svg.find("href") == std::string::npos);
  CHECK(svg.find("@font-face") == std::string::npos);
}

TEST_CASE("chart: no values, and values that are not positive", "[chart]") {
  chart::ChartData d;
  d.title = "CEA, patient P-2";
  d.unit = "ng/mL";
  auto svg = chart::render_svg(d);
  CHECK_THAT(svg, Catch::Contains(">no values</text>"));
  d.points = {{day("2020-01-01"), 0.0, Comparator::none, true},
              {day("2020-02-01"), 2.0, Comparator::none, true}};
  svg = chart::render_svg(d);
  const auto y = point_heights(svg);
  REQUIRE(y.size() == 2);
  CHECK(y[0] > y[1]);  // zero sits on the axis floor, below 2
}

TEST_CASE("chart: the seed case's AFP chart from the database", "[chart]") {
  test::PipelineFixture f;
  f.import(test::read_file(test::shared_dir() / "seed/results.csv"), "results.csv");
  f.import(test::read_file(test::shared_dir() / "seed/milestones.csv"), "milestones.csv");
  auto& db = f.db;
  const auto& s = f.s;
  const auto d = chart::load_chart(db, s.markers, "case-001", "alpha-fetoprotein");
  CHECK(d.title == "AFP, patient case-001");
  CHECK(d.points.size() == 32);
  CHECK(d.points.front().comparator == Comparator::greater);  // >35000 at diagnosis
  CHECK(d.milestones.size() == 11);
  // sorafenib: systemic_start 2010-09-08 .. systemic_stop 2012-02-15 is a course.
  const auto course = std::find_if(d.milestones.begin(), d.milestones.end(),
                                   [](const auto& m) { return m.label == "systemic_start"; });
  REQUIRE(course != d.milestones.end());
  CHECK(course->end_day == day("2012-02-15"));
  std::vector<std::string> live;
  for (const auto& a : d.alerts)
    if (!a.retracted)
      live.push_back(format_day(a.day) + " " + a.label.substr(a.label.find(' ') + 1));
  CHECK(live == std::vector<std::string>{"2013-10-02 R_RISE+R_RENORM", "2015-09-09 R_RISE",
                                         "2016-12-15 R_NODECLINE"});
  const auto pivka = chart::load_chart(db, s.markers, "case-001", "PIVKA-II");
  CHECK(pivka.points.size() == 2);
  CHECK(pivka.alerts.empty());
  CHECK_THROWS_AS(chart::load_chart(db, s.markers, "nobody", "AFP"), chart::PatientNotFound);
  CHECK_THROWS_WITH(chart::load_chart(db, s.markers, "case-001", "glucose"),
                    Catch::Contains("unknown marker"));
}
