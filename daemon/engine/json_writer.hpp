#pragma once
// Writes one JSON document field by field into a string, in the order the calls come. The alert
// log writes a JSON line per event, and replay thousands per second: building a tree first
// (nlohmann::ordered_json, whose object insertion searches its keys linearly) cost more than
// evaluating the rules. Strings are escaped and numbers formatted exactly as nlohmann's dump()
// does, so a document written here and one dumped from a tree are the same bytes (text that is
// not UTF-8 as dump() with its `replace` error handler writes it, instead of throwing).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace markerwatch::engine {

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  // The next value is this member of the enclosing object. `name` is written as it is: the
  // program's own member names, plain ASCII without quotes or backslashes.
  JsonWriter& key(std::string_view name);
  // The members of `object`, a whole object this writer wrote before ("{...}"), as members of the
  // enclosing object: a document that embeds another is not serialised twice.
  JsonWriter& members_of(std::string_view object);

  JsonWriter& string(std::string_view s);
  JsonWriter& number(double v);
  JsonWriter& integer(std::int64_t v);
  JsonWriter& boolean(bool v);
  JsonWriter& null();

 private:
  // Takes the place of the next value; true when a comma goes before it.
  bool comma_due();
  void separate();
  JsonWriter& open(char bracket);
  JsonWriter& close(char bracket);

  std::string& out_;
  std::vector<char> first_;  // per open container: nothing written in it yet (not a bit vector)
  bool after_key_ = false;
};

// `s` as a JSON string literal, quotes included. Bytes that are not UTF-8 become U+FFFD.
void append_json_string(std::string& out, std::string_view s);

}  // namespace markerwatch::engine
