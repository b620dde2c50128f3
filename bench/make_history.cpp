// Writes the replay benchmark's input: P patients x N AFP values and 2 milestones each (a
// resection, then a tace a year later), rows in arrival order (visit by visit across patients).
// Trajectories: a fall after surgery, noise, and for one patient in five a confirmed rise.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <random>

namespace {

void date_of(int day, char* out) {  // day 0 = 2015-01-01, 28-day months keep it simple
  const int year = 2015 + day / 336, month = day % 336 / 28 + 1, dom = day % 28 + 1;
  std::snprintf(out, 16, "%04d-%02d-%02d", year, month, dom);
}

}  // namespace

int main(int argc, char** argv) {
  int patients = 100000, values = 20;
  std::string results = "results.csv", milestones = "milestones.csv";
  CLI::App app{"generate a patient history for the replay benchmark"};
  app.add_option("--patients", patients, "patients");
  app.add_option("--values", values, "AFP values per patient");
  app.add_option("--results", results, "results CSV to write");
  app.add_option("--milestones", milestones, "milestones CSV to write");
  CLI11_PARSE(app, argc, argv);
  FILE* r = std::fopen(results.c_str(), "w");
  FILE* m = std::fopen(milestones.c_str(), "w");
  if (!r || !m) return 2;
  char date[16];
  std::fputs("patient_id,kind,date\n", m);
  for (int p = 0; p < patients; ++p) {
    date_of(30, date);
    std::fprintf(m, "H%06d,resection,%s\n", p, date);
    date_of(30 + 400, date);
    std::fprintf(m, "H%06d,tace,%s\n", p, date);
  }
  std::fputs("patient_id,marker,collected_at,value,unit\n", r);
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> noise(0.8, 1.25);
  for (int v = 0; v < values; ++v) {
    const int day = 25 + v * 42;  // every six weeks from just before surgery
    date_of(day, date);
    for (int p = 0; p < patients; ++p) {
      double level = v == 0 ? 800.0 : 4.0 + 600.0 / (1 << std::min(v * 2, 20));
      if (p % 5 == 0 && v >= values / 2) level *= 1 << std::min(v - values / 2 + 1, 12);
      std::fprintf(r, "H%06d,AFP,%s,%.1f,ng/mL\n", p, date, level * noise(rng));
    }
  }
  std::fclose(r);
  std::fclose(m);
  return 0;
}
