// Writes a results CSV of N rows (the import benchmark's input): many patients, several markers,
// realistic values, some censored.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <random>

int main(int argc, char** argv) {
  long rows = 1000000;
  int patients = 20000;
  std::string out = "-";
  CLI::App app{"generate a results CSV for the import benchmark"};
  app.add_option("-n,--rows", rows, "rows to write");
  app.add_option("--patients", patients, "distinct patients");
  app.add_option("-o,--output", out, "file ('-' = stdout)");
  CLI11_PARSE(app, argc, argv);
  FILE* f = out == "-" ? stdout : std::fopen(out.c_str(), "w");
  if (!f) return 2;
  static const char* markers[][2] = {
      {"AFP", "ng/mL"}, {"CEA", "ng/mL"}, {"CA-125", "U/mL"}, {"PSA", "ng/mL"}, {"CA19-9", "U/mL"}};
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> value(1, 50000), censor(0, 99);
  std::fputs("patient_id,marker,collected_at,value,unit\n", f);
  for (long i = 0; i < rows; ++i) {
    const long p = i % patients;
    const long visit = i / patients;  // one result per patient per "visit"
    const int year = 2000 + static_cast<int>(visit / 365 % 25), doy = static_cast<int>(visit % 365);
    const auto& m = markers[p % 5];
    const int v = value(rng), c = censor(rng);
    std::fprintf(f, "P%06ld,%s,%04d-%02d-%02d,%s%d.%d,%s\n", p, m[0], year, doy / 28 % 12 + 1,
                 doy % 28 + 1, c == 0 ? "<" : (c == 1 ? ">" : ""), v / 10, v % 10, m[1]);
  }
  if (f != stdout) std::fclose(f);
  return 0;
}
