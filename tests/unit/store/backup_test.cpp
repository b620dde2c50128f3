// markerwatch backup: a copy of one moment of the database, taken while another connection writes.
#include <sys/stat.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "store/backup.hpp"
#include "store/migrations.hpp"
#include "store/result_records.hpp"
#include "store/result_store.hpp"
#include "test_support.hpp"

using namespace markerwatch;
using namespace markerwatch::store;

namespace {

void store_afp(ResultStore& s, const std::string& patient, const std::string& date, double value) {
  const auto r = test::result_record(patient, "AFP", date, value);
  s.store_result(r, s.patient(r.patient, "t"), {}, "t");
}

// A markerwatch database in `dir` holding one AFP value of patient p1; its path.
std::string database_with_one_result(const test::TempDir& dir) {
  const auto path = (dir.path() / "mw.db").string();
  Database writer(path, OpenOptions{});
  migrate(writer);
  ResultStore results(writer);
  store_afp(results, "p1", "2016-01-01", 12.5);
  return path;
}

std::int64_t count_results(const std::string& path) {
  Database db(path, read_only_options());
  auto q = db.prepare("SELECT count(*) FROM results");
  q.step();
  return q.int64(0);
}

}  // namespace

TEST_CASE("backup: the copy holds what was committed, not what a writer has open") {
  test::TempDir dir;
  const auto source_path = (dir.path() / "mw.db").string();
  const auto copy_path = (dir.path() / "copy.db").string();
  Database writer(source_path, OpenOptions{});
  migrate(writer);
  ResultStore results(writer);
  store_afp(results, "p1", "2016-01-01", 12.5);
  store_afp(results, "p1", "2016-02-01", 30.0);
  store_afp(results, "p2", "2016-02-01", 4.0);

  Transaction open_write(writer);  // the daemon in the middle of a group commit
  store_afp(results, "p3", "2016-03-01", 99.0);

  Database source(source_path, read_only_options());
  const auto report = backup_database(source, copy_path);
  CHECK(report.results == 3);
  CHECK(report.messages == 0);
  CHECK(report.alerts == 0);
  CHECK(report.schema_version == embedded_schema().back().version);
  CHECK(report.bytes == std::filesystem::file_size(copy_path));
  CHECK(count_results(copy_path) == 3);

  struct stat st {};
  REQUIRE(::stat(copy_path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);  // health data

  open_write.commit();
  CHECK(count_results(source_path) == 4);
  CHECK(count_results(copy_path) == 3);  // a copy of its moment, not a view of the source

  // The copy opens as a markerwatch database: its values are the source's.
  Database reopened(copy_path, read_only_options());
  ResultStore copied(reopened);
  const auto p1 = copied.results("p1", "AFP", true);
  REQUIRE(p1.size() == 2);
  CHECK(p1[0].value == 12.5);
  CHECK(p1[1].value == 30.0);
}

TEST_CASE("backup: an existing file or a missing folder is refused and nothing is written") {
  test::TempDir dir;
  const auto source_path = database_with_one_result(dir);
  Database source(source_path, read_only_options());

  const auto existing = (dir.path() / "old.db").string();
  std::ofstream(existing) << "yesterday's backup";
  CHECK_THROWS_WITH(backup_database(source, existing),
                    Catch::Contains("exists: a backup goes to a new file"));
  std::ifstream kept(existing);
  std::string text;
  std::getline(kept, text);
  CHECK(text == "yesterday's backup");

  const auto in_missing_folder = (dir.path() / "no/such/folder.db").string();
  CHECK_THROWS_WITH(backup_database(source, in_missing_folder),
                    Catch::Contains("cannot create") && Catch::Contains("No such file"));
  CHECK_FALSE(std::filesystem::exists(dir.path() / "no"));

  CHECK_THROWS_WITH(backup_database(source, source_path), Catch::Contains("exists"));
  CHECK(count_results(source_path) == 1);
}

TEST_CASE("backup: a source that is not a markerwatch database leaves no file behind") {
  test::TempDir dir;
  const auto copy_path = (dir.path() / "copy.db").string();

  const auto garbage_path = (dir.path() / "garbage.db").string();
  std::ofstream(garbage_path) << std::string(8192, 'x');
  {
    Database garbage(garbage_path, read_only_options());
    CHECK_THROWS_WITH(backup_database(garbage, copy_path),
                      Catch::Contains("cannot copy") && Catch::Contains("not a database"));
  }
  CHECK_FALSE(std::filesystem::exists(copy_path));

  const auto other_path = (dir.path() / "other.db").string();
  {
    Database other(other_path, OpenOptions{});
    other.exec("CREATE TABLE notes (text TEXT)");
  }
  Database other(other_path, read_only_options());
  CHECK_THROWS_WITH(backup_database(other, copy_path),
                    Catch::Contains("not a markerwatch database"));
  CHECK_FALSE(std::filesystem::exists(copy_path));
}

TEST_CASE("backup into a folder: named after its time, the newest N kept, other files untouched") {
  test::TempDir dir;
  const auto source_path = database_with_one_result(dir);
  const auto folder = dir.path() / "backups";
  std::filesystem::create_directory(folder);
  for (const char* other : {"notes.txt", "markerwatch-latest.db", "markerwatch-2016.db"})
    std::ofstream(folder / other) << "kept";
  Database source(source_path, read_only_options());
  // 2016-12-15T08:30:05.007Z
  const auto at = [](int seconds_later) {
    return std::chrono::system_clock::time_point(std::chrono::milliseconds(1481790605007LL)) +
           std::chrono::seconds(seconds_later);
  };

  const auto first = backup_into_folder(source, folder.string(), at(0), 2);
  CHECK(first.path == (folder / "markerwatch-20161215T083005.007Z.db").string());
  CHECK(first.report.results == 1);
  CHECK(first.removed.empty());
  CHECK(backup_into_folder(source, folder.string(), at(86400), 2).removed.empty());
  const auto third = backup_into_folder(source, folder.string(), at(2 * 86400), 2);
  CHECK(third.path == (folder / "markerwatch-20161217T083005.007Z.db").string());
  CHECK(third.removed == std::vector<std::string>{first.path});

  std::vector<std::string> left;
  for (const auto& f : std::filesystem::directory_iterator(folder))
    left.push_back(f.path().filename().string());
  std::sort(left.begin(), left.end());
  CHECK(left == std::vector<std::string>{
                    "markerwatch-2016.db", "markerwatch-20161216T083005.007Z.db",
                    "markerwatch-20161217T083005.007Z.db", "markerwatch-latest.db", "notes.txt"});
  CHECK(count_results(third.path) == 1);

  // keep 0: nothing removed; the same moment twice: the second is refused, the first stays.
  CHECK(backup_into_folder(source, folder.string(), at(3 * 86400), 0).removed.empty());
  CHECK_THROWS_WITH(backup_into_folder(source, folder.string(), at(3 * 86400), 0),
                    Catch::Contains("exists"));
  CHECK(count_results((folder / "markerwatch-20161218T083005.007Z.db").string()) == 1);
}
