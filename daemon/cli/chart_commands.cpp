// `markerwatch chart`: one patient's marker as an SVG file (or on stdout).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "chart/chart_source.hpp"
#include "cli/commands.hpp"

namespace markerwatch::cli {

int cmd_chart(const Common& c, const std::string& patient, const std::string& marker,
              const std::string& output) {
  auto s = load_settings(c);
  auto db = open_database(s, true);
  const auto svg = chart::render_svg(chart::load_chart(*db, s.markers, patient, marker));
  if (output.empty() || output == "-") {
    std::cout << svg;
    return 0;
  }
  // Written beside the target and renamed: a reader never sees half a chart.
  const auto tmp = output + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw InputError("cannot write " + tmp);
    out << svg;
    out.close();
    if (!out) throw InputError("cannot write " + tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, output, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    throw InputError("cannot write " + output);
  }
  std::cerr << "wrote " << output << "\n";
  return 0;
}

}  // namespace markerwatch::cli
