#include <catch2/catch.hpp>

#include "ingest/csv_patient_rows.hpp"
#include "ingest/csv_reader.hpp"
#include "ingest/csv_records.hpp"
#include "ingest/pipeline.hpp"
#include "test_support.hpp"

using namespace markerwatch;
using namespace markerwatch::ingest;

TEST_CASE("CSV reader: quotes, embedded separators and line breaks, CRLF, blank lines") {
  CsvReader r("a,b,c\r\n\"x,1\",\"say \"\"hi\"\"\",\"two\nlines\"\n\n3,,\n");
  auto h = r.next();
  REQUIRE(h);
  CHECK(h->fields == std::vector<std::string>{"a", "b", "c"});
  auto row = r.next();
  REQUIRE(row);
  CHECK(row->line == 2);
  CHECK(row->fields == std::vector<std::string>{"x,1", "say \"hi\"", "two\nlines"});
  auto last = r.next();
  REQUIRE(last);
  CHECK(last->line == 5);
  CHECK(last->fields == std::vector<std::string>{"3", "", ""});
  CHECK_FALSE(r.next());
}

TEST_CASE("CSV reader: a quote inside an unquoted field, empty quoted fields, lone CRs, a BOM") {
  CsvReader r("\xEF\xBB\xBFid,note\r5\" tall,\"\"\r\n\"a\"\"\",\"\"\"b\"\rlast,\"x\ny\nz\"\nend");
  auto h = r.next();
  REQUIRE(h);
  CHECK(h->fields == std::vector<std::string>{"id", "note"});
  auto quote_inside = r.next();
  REQUIRE(quote_inside);
  CHECK(quote_inside->line == 2);
  CHECK(quote_inside->fields == std::vector<std::string>{"5\" tall", ""});
  auto doubled = r.next();
  REQUIRE(doubled);
  CHECK(doubled->line == 3);
  CHECK(doubled->fields == std::vector<std::string>{"a\"", "\"b"});
  auto multi_line = r.next();
  REQUIRE(multi_line);
  CHECK(multi_line->line == 4);
  CHECK(multi_line->fields == std::vector<std::string>{"last", "x\ny\nz"});
  const auto after = r.position();
  CHECK(after.line == 7);  // the row after a field spanning three lines
  auto unterminated_last = r.next();
  REQUIRE(unterminated_last);
  CHECK(unterminated_last->line == 7);
  CHECK(unterminated_last->fields == std::vector<std::string>{"end"});
  CHECK_FALSE(r.next());
  r.seek(after);  // a re-read yields the same row
  CHECK(r.next()->fields == std::vector<std::string>{"end"});
}

TEST_CASE(
    "CSV reader: one row object read into again holds each row and nothing of the one before") {
  const std::string text =
      "a,b,c,d\n\"long quoted, field\",2\n\n\nx\n\"\",\"q\"\"\",,\"multi\nline\"\n1,2,3\n";
  CsvReader reused(text), fresh(text);
  CsvRow row;
  row.fields = {"left", "over", "from", "before", "and", "more"};
  std::size_t rows = 0;
  while (reused.next(row)) {
    const auto expected = fresh.next();
    REQUIRE(expected);
    INFO("row " << rows);
    CHECK(row.line == expected->line);
    CHECK(row.fields == expected->fields);
    ++rows;
  }
  CHECK_FALSE(fresh.next());
  CHECK(rows == 5);
  CHECK(row.fields == std::vector<std::string>{"1", "2", "3"});
}

TEST_CASE("CSV reader: malformed input is an error with its line") {
  CsvReader unterminated("a\n\"open\n");
  unterminated.next();
  CHECK_THROWS_WITH(unterminated.next(), Catch::Contains("line 2: unterminated quoted field"));
  CsvReader after_quote("\"a\"b\n");
  CHECK_THROWS_WITH(after_quote.next(), Catch::Contains("text after a closing quote"));
  const std::string long_field(100, 'x'), many_fields(100, ',');
  CsvReader huge(long_field, 50);
  CHECK_THROWS_WITH(huge.next(), Catch::Contains("longer than 50 bytes"));
  CsvReader wide(many_fields, 50, 10);
  CHECK_THROWS_WITH(wide.next(), Catch::Contains("more than 10 fields"));
  // The limit holds inside quotes too, with the row's first line.
  const auto quoted_text =
      "a\n\"" + std::string(30, 'x') + "\n\"\"" + std::string(30, 'y') + "\"\n";
  CsvReader huge_quoted(quoted_text, 50);
  huge_quoted.next();
  CHECK_THROWS_WITH(huge_quoted.next(), Catch::Contains("line 2: a field is longer than 50 bytes"));
  CsvReader after_multi_line("\"a\nb\"c\n");
  CHECK_THROWS_WITH(after_multi_line.next(), Catch::Contains("line 2: text after a closing quote"));
  const auto unterminated_text = "\"" + std::string(100, 'x');
  CsvReader unterminated_huge(unterminated_text, 50);
  CHECK_THROWS_WITH(unterminated_huge.next(), Catch::Contains("longer than 50 bytes"));
}

TEST_CASE("file kinds are told apart by content") {
  CHECK(detect_file_kind("MSH|^~\\&|A") == FileKind::hl7);
  CHECK(detect_file_kind("\xEF\xBB\xBF\r\nMSH|^~\\&|A") == FileKind::hl7);
  CHECK(detect_file_kind("patient_id,marker,collected_at,value,unit\n") == FileKind::results_csv);
  CHECK(detect_file_kind("patient_id,kind,date,end_date,note\n") == FileKind::milestones_csv);
  CHECK(detect_file_kind("hello,world\n") == FileKind::unknown);
  CHECK(detect_file_kind("") == FileKind::unknown);
}

namespace {
struct Rows {
  settings::Settings s = test::utc_settings();
  RecordContext ctx = record_context(s);
  CsvHeader header =
      results_header(CsvRow{1,
                            {"patient_id", "marker", "collected_at", "value", "unit", "status",
                             "obs_id", "received_at", "method", "reference_range"}});
  ResultRecord parse(std::vector<std::string> f) {
    f.resize(10);
    return parse_result_row(header, CsvRow{2, f}, ctx);
  }
};

CsvHeader header_of(std::string_view csv, FileKind kind) {
  CsvReader reader(csv);
  return kind == FileKind::results_csv ? results_header(*reader.next())
                                       : milestones_header(*reader.next());
}

// CsvPatientRows over `csv` (its kind from its header), with what it reads kept alive beside it.
struct PatientRowsOf {
  settings::Settings s = test::utc_settings();
  RecordContext ctx = record_context(s);
  std::string csv;
  FileKind kind;
  CsvHeader header;
  std::unique_ptr<CsvPatientRows> rows;

  explicit PatientRowsOf(std::string text, std::size_t max_queued_rows = 20000)
      : csv(std::move(text)),
        kind(detect_file_kind(csv)),
        header(header_of(csv, kind)),
        rows(std::make_unique<CsvPatientRows>(csv, kind, header, ctx, settings::engine_config(s),
                                              max_queued_rows)) {}
};
}  // namespace

TEST_CASE("result rows map to records") {
  Rows r;
  auto x = r.parse({"case-001", "afp", "2010-09-06", ">35000", "ng/mL"});
  CHECK(x.marker == "AFP");
  CHECK(*x.value == 35000);
  CHECK(x.comparator == Comparator::greater);
  CHECK(x.collected_date == "2010-09-06");
  CHECK(x.status == ResultStatus::final_result);
  auto iu = r.parse({"p", "1834-1", "2010-09-06T10:00:00+02:00", "10", "IU/mL", "corrected", "o-1",
                     "2010-09-07T00:00:00Z", "Abbott", "0-10"});
  CHECK(*iu.value == Approx(12.1));
  CHECK(*iu.uln == Approx(12.1));
  CHECK(iu.collected_at == "2010-09-06T08:00:00Z");
  CHECK(iu.status == ResultStatus::corrected);
  CHECK(iu.obs_id == "o-1");
  CHECK(iu.method == "Abbott");
  CHECK(iu.received_at == "2010-09-07T00:00:00Z");
  auto removed = r.parse({"p", "AFP", "2010-09-06", "", "", "entered-in-error", "o-1"});
  CHECK_FALSE(removed.value);
  // A patient as markerwatch prints one: id^authority (HL7 CX-4, a FHIR identifier system).
  CHECK(x.patient == PatientKey{"case-001", ""});
  CHECK(r.parse({" mrn7 ^ HOSP ", "AFP", "2010-09-06", "5", "ng/mL"}).patient ==
        PatientKey{"mrn7", "HOSP"});
  CHECK(r.parse({"p", "DCP", "2010-09-06", "3", "ng/mL"}).method == "unit:ng/mL");
  // A patient already read from the row (replay reads each row's patient first) is taken as given.
  const PatientKey known{"MRN7", "HOSP"};
  std::vector<std::string> fields{"mrn7^HOSP", "AFP", "2010-09-06", "5", "ng/mL"};
  fields.resize(10);
  const auto given = parse_result_row(r.header, CsvRow{2, fields}, r.ctx, &known);
  CHECK(given.patient == known);
  CHECK(*given.value == 5);
}

TEST_CASE("bad result rows are rejected with a clear reason") {
  Rows r;
  struct Case {
    std::vector<std::string> fields;
    const char* reason;
  };
  const std::vector<Case> cases = {
      {{"", "AFP", "2010-09-06", "5", "ng/mL"}, "patient_id is empty"},
      {{"p", "GLUCOSE", "2010-09-06", "5", "ng/mL"}, "unknown marker 'GLUCOSE'"},
      {{"p", "AFP", "06/09/2010", "5", "ng/mL"}, "collected_at '06/09/2010' is not an ISO 8601"},
      {{"p", "AFP", "2010-02-30", "5", "ng/mL"}, "is not an ISO 8601"},
      {{"p", "AFP", "2010-09-06", "five", "ng/mL"}, "value 'five' is not a number"},
      {{"p", "AFP", "2010-09-06", "-5", "ng/mL"}, "is negative"},
      {{"p", "AFP", "2010-09-06", "5", "mg/dL"},
       "unit 'mg/dL' cannot be converted to ng/mL for AFP"},
      {{"p", "AFP", "2010-09-06", "5", ""}, "no unit for AFP"},
      {{"p", "AFP", "2010-09-06", "5", "ng/mL", "approved"}, "unknown status 'approved'"},
      {{"p", "AFP", "2010-09-06", "5", "ng/mL", "", "", "yesterday"}, "received_at 'yesterday'"},
      {{"p", "AFP", "2010-09-06", "5", "ng/mL", "", "", "", "", "normal"},
       "reference_range 'normal'"},
      {{"p\x01", "AFP", "2010-09-06", "5", "ng/mL"}, "control characters"},
      {{"p\xff", "AFP", "2010-09-06", "5", "ng/mL"}, "not valid UTF-8"},
      {{std::string(300, 'p'), "AFP", "2010-09-06", "5", "ng/mL"}, "longer than 200"},
      {{"^HOSP", "AFP", "2010-09-06", "5", "ng/mL"}, "has no identifier before the '^'"},
      {{"mrn7^", "AFP", "2010-09-06", "5", "ng/mL"}, "'mrn7^' is neither id nor id^authority"},
      {{"mrn7^A^B", "AFP", "2010-09-06", "5", "ng/mL"}, "is neither id nor id^authority"},
  };
  for (const auto& c : cases) {
    INFO(c.reason);
    CHECK_THROWS_WITH(r.parse(c.fields), Catch::Contains(c.reason));
  }
  CHECK_THROWS_WITH(parse_result_row(r.header, CsvRow{3, {"p", "AFP"}}, r.ctx),
                    Catch::Contains("row has 2 fields, the header 10"));
}

TEST_CASE("headers: required columns, unknown and duplicate columns") {
  CHECK_THROWS_WITH(results_header(CsvRow{1, {"patient_id", "marker", "value", "unit"}}),
                    Catch::Contains("lacks the required column 'collected_at'"));
  CHECK_THROWS_WITH(results_header(CsvRow{
                        1, {"patient_id", "marker", "collected_at", "value", "unit", "colour"}}),
                    Catch::Contains("unknown column 'colour'"));
  CHECK_THROWS_WITH(milestones_header(CsvRow{1, {"patient_id", "kind", "date", "date"}}),
                    Catch::Contains("appears twice"));
}

TEST_CASE("milestone rows: kinds, dates, markers") {
  auto s = test::utc_settings();
  const auto ctx = record_context(s);
  auto m = make_milestone("case-001", "resection", "2016-10-20", "", "wedge", "afp;DCP;AFP", ctx);
  CHECK(m.markers == std::vector<std::string>{"AFP", "PIVKA-II"});
  CHECK(m.patient == PatientKey{"case-001", ""});
  CHECK(make_milestone("mrn7^HOSP", "tace", "2016-10-20", "", "", "", ctx).patient ==
        PatientKey{"mrn7", "HOSP"});
  CHECK_THROWS_WITH(make_milestone("mrn7^", "tace", "2016-10-20", "", "", "", ctx),
                    Catch::Contains("neither id nor id^authority"));
  CHECK_THROWS_WITH(make_milestone("p", "surgery", "2016-10-20", "", "", "", ctx),
                    Catch::Contains("unknown milestone kind 'surgery'"));
  CHECK_THROWS_WITH(make_milestone("p", "tace", "2016-10-2", "", "", "", ctx),
                    Catch::Contains("is not a date"));
  CHECK_THROWS_WITH(make_milestone("p", "tace", "2016-10-20T10:00", "", "", "", ctx),
                    Catch::Contains("is not a date"));
  CHECK_THROWS_WITH(make_milestone("p", "haic_start", "2016-10-20", "2016-10-01", "", "", ctx),
                    Catch::Contains("end_date 2016-10-01 is before date 2016-10-20"));
  CHECK_THROWS_WITH(make_milestone("p", "tace", "2016-10-20", "", "", "AFP;XYZ", ctx),
                    Catch::Contains("unknown marker 'XYZ'"));
}

TEST_CASE("milestone rows: a removing status makes a removal and nothing else is a status") {
  auto s = test::utc_settings();
  const auto ctx = record_context(s);
  const auto header =
      milestones_header(CsvRow{1, {"patient_id", "kind", "date", "markers", "status"}});
  auto row = [&](const std::string& status) {
    return parse_milestone_row(header, CsvRow{2, {"p", "resection", "2016-10-20", "AFP", status}},
                               ctx);
  };
  CHECK_FALSE(row("").entered_in_error);
  CHECK_FALSE(row("final").entered_in_error);
  for (const char* removing : {"entered-in-error", " Entered-In-Error ", "cancelled", "deleted"}) {
    INFO(removing);
    const auto m = row(removing);
    CHECK(m.entered_in_error);
    CHECK(m.markers == std::vector<std::string>{"AFP"});  // the identity is still validated
  }
  for (const char* bad : {"preliminary", "corrected", "removed", "\x1b[31m"})
    CHECK_THROWS_WITH(row(bad), Catch::Contains("of a milestone: final (or empty), or "
                                                "entered-in-error to remove it"));
  CHECK_THROWS_WITH(
      parse_milestone_row(header, CsvRow{2, {"p", "surgery", "2016-10-20", "", "deleted"}}, ctx),
      Catch::Contains("unknown milestone kind"));
  CHECK_THROWS_WITH(row("\x1b[31m"), !Catch::Contains("\x1b"));  // not echoed raw
}

TEST_CASE("CSV patient rows: grouped by patient in order of first appearance, file order within") {
  PatientRowsOf f(
      "patient_id,marker,collected_at,value,unit\n"
      "B,AFP,2020-01-01,5,ng/mL\n"
      "A,AFP,2020-01-02,6,ng/mL\n"
      " B ,AFP,2020-01-03,seven,ng/mL\n"  // same patient after trimming; rejected by mapping
      "A,AFP,2020-01-04,8,furlongs\n"
      "B,AFP,2020-01-05,9,ng/mL\n",
      1);
  auto& rows = *f.rows;
  auto b = rows.next();
  REQUIRE(b);
  REQUIRE(b->rows.size() == 3);
  CHECK(b->rows[0].line == 2);
  CHECK(b->result_of(b->rows[0]).value == 5);
  CHECK(b->rows[1].line == 4);
  CHECK_THAT(std::get<std::string>(b->rows[1].record), Catch::Contains("not a number"));
  CHECK(b->result_of(b->rows[2]).collected_date == "2020-01-05");
  auto a = rows.next();
  REQUIRE(a);
  REQUIRE(a->rows.size() == 2);
  CHECK(a->result_of(a->rows[0]).patient.id == "A");
  CHECK_THAT(std::get<std::string>(a->rows[1].record), Catch::Contains("furlongs"));
  CHECK_FALSE(rows.next());
  CHECK_FALSE(rows.malformed());
}

TEST_CASE("CSV patient rows: each group's results are admitted as a new patient's would be") {
  PatientRowsOf f(
      "patient_id,marker,collected_at,value,unit,status,obs_id\n"
      "A,AFP,2020-01-01,5,ng/mL,final,o1\n"
      "A,AFP,2020-01-01,5,ng/mL,final,o1\n"      // repeats the row above
      "A,AFP,2020-01-01,6,ng/mL,corrected,o1\n"  // replaces it
      "A,AFP,2020-02-01,7,ng/mL,final,\n"
      "A,AFP,2020-02-01,8,ng/mL,final,\n"
      "A,AFP,2020-02-01,9,ng/mL,corrected,\n"  // which of 7 and 8? refused
      "A,AFP,2020-03-01,x,ng/mL,final,\n");    // not mapped
  auto& rows = *f.rows;
  auto a = rows.next();
  REQUIRE(a);
  REQUIRE(a->rows.size() == 7);
  const auto& r = a->rows;
  CHECK(r[0].as_new == AsNewPatient::kept);
  CHECK(r[1].as_new == AsNewPatient::unchanged);
  CHECK(r[2].as_new == AsNewPatient::kept);
  CHECK(r[3].as_new == AsNewPatient::kept);
  CHECK(r[4].as_new == AsNewPatient::kept);
  CHECK(r[5].as_new == AsNewPatient::refused);
  CHECK_THAT(r[5].refused_as_new, Catch::Contains("matches several"));
  CHECK(r[6].as_new == AsNewPatient::not_tried);
  // Kept records moved into new_rows, the others stay in their rows; result_of finds both.
  CHECK(std::get<KeptRow>(r[2].record).number == 2);
  CHECK(a->result_of(r[2]).value == 6);
  CHECK(a->result_of(r[1]).value == 5);
  CHECK(a->result_of(r[5]).value == 9);
  const auto& kept = a->new_rows->rows();
  REQUIRE(kept.size() == 4);
  CHECK_FALSE(kept[0].effective);  // corrected by the row after it
  CHECK(kept[1].effective);
  CHECK(kept[2].effective);
  CHECK(kept[3].effective);
  CHECK_FALSE(kept[0].message_id);
  CHECK_FALSE(rows.next());
}

TEST_CASE("CSV patient rows: malformed quoting ends the file after the rows before it") {
  PatientRowsOf f(
      "patient_id,kind,date\n"
      "A,resection,2020-01-01\n"
      "B,\"tace,2020-02-01\n"
      "A,tace,2020-03-01\n");
  auto& rows = *f.rows;
  auto a = rows.next();
  REQUIRE(a);
  REQUIRE(a->rows.size() == 1);
  CHECK(std::get<MilestoneRecord>(a->rows[0].record).kind == "resection");
  CHECK(a->rows[0].as_new == AsNewPatient::not_tried);
  CHECK(a->new_rows->rows().empty());
  CHECK_FALSE(rows.next());
  REQUIRE(rows.malformed());
  CHECK_THAT(*rows.malformed(), Catch::Contains("line 3: unterminated quoted field"));
}

TEST_CASE("CSV patient rows: stopping early joins the reader thread") {
  std::string csv = "patient_id,marker,collected_at,value,unit\n";
  for (int i = 0; i < 5000; ++i) csv += "P" + std::to_string(i) + ",AFP,2020-01-01,5,ng/mL\n";
  PatientRowsOf f(csv, 10);
  auto& rows = f.rows;
  auto first = rows->next();
  REQUIRE(first);
  CHECK(first->result_of(first->rows[0]).patient.id == "P0");
  rows.reset();  // the reader waits on a full queue: destruction must stop it, not hang
  CHECK_FALSE(rows);
}
