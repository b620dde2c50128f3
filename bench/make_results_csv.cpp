// Writes a results CSV of N rows (the import benchmark's input): many patients, several markers,
// rows visit by visit across patients. Values from bench/value_model.hpp (realistic by default).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <random>
#include <vector>

#include "value_model.hpp"

namespace mb = markerwatch::bench;

int main(int argc, char** argv) {
  long rows = 1000000;
  int patients = 20000;
  std::string out = "-", model_name = "realistic";
  CLI::App app{"generate a results CSV for the import benchmark"};
  app.add_option("-n,--rows", rows, "rows to write");
  app.add_option("--patients", patients, "distinct patients");
  app.add_option("--values", model_name, "value model: realistic or random (worst case)");
  app.add_option("-o,--output", out, "file ('-' = stdout)");
  CLI11_PARSE(app, argc, argv);
  mb::ValueModel model;
  if (!mb::parse_value_model(model_name, model)) {
    std::fprintf(stderr, "--values: expected realistic or random\n");
    return 2;
  }
  FILE* f = out == "-" ? stdout : std::fopen(out.c_str(), "w");
  if (!f) return 2;
  struct Marker {
    const char *name, *unit;
    double uln;
  };
  static const Marker markers[] = {{"AFP", "ng/mL", 10},
                                   {"CEA", "ng/mL", 5},
                                   {"CA-125", "U/mL", 35},
                                   {"PSA", "ng/mL", 4},
                                   {"CA19-9", "U/mL", 37}};
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> value(1, 50000), censor(0, 99);
  std::vector<mb::SeriesCourse> courses;
  if (model == mb::ValueModel::realistic)
    for (int p = 0; p < patients; ++p) courses.emplace_back(markers[p % 5].uln, rng);
  std::fputs("patient_id,marker,collected_at,value,unit\n", f);
  for (long i = 0; i < rows; ++i) {
    const long p = i % patients;
    const long visit = i / patients;  // one result per patient per "visit"
    const auto& m = markers[p % 5];
    if (model == mb::ValueModel::realistic) {
      const auto date = mb::date_after(static_cast<int>(visit * 30 + p % 28));
      std::fprintf(f, "P%06ld,%s,%04d-%02u-%02u,%s,%s\n", p, m.name, int(date.year()),
                   unsigned(date.month()), unsigned(date.day()),
                   mb::lab_text(courses[static_cast<std::size_t>(p)].next(rng)).c_str(), m.unit);
      continue;
    }
    const int year = 2000 + static_cast<int>(visit / 365 % 25), doy = static_cast<int>(visit % 365);
    const int v = value(rng), c = censor(rng);
    std::fprintf(f, "P%06ld,%s,%04d-%02d-%02d,%s%d.%d,%s\n", p, m.name, year, doy / 28 % 12 + 1,
                 doy % 28 + 1, c == 0 ? "<" : (c == 1 ? ">" : ""), v / 10, v % 10, m.unit);
  }
  if (f != stdout) std::fclose(f);
  return 0;
}
