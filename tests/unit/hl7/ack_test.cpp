#include <catch2/catch.hpp>

#include "core/text.hpp"
#include "hl7/ack.hpp"
#include "hl7/message.hpp"

using namespace markerwatch;

TEST_CASE("an AA echoes MSH-10, swaps sender and receiver, echoes version and processing id") {
  hl7::AckRequest req;
  req.header.sending_application = "LAB";
  req.header.sending_facility = "HOSP";
  req.header.receiving_application = "MW";
  req.header.receiving_facility = "ONC";
  req.header.control_id = "CTRL-42";
  req.header.processing_id = "P";
  req.header.version = "2.5.1";
  req.control_id = "MW17";
  req.timestamp = "20261127120000+0000";
  auto ack = hl7::build_ack(req);
  CHECK(ack ==
        "MSH|^~\\&|MW|ONC|LAB|HOSP|20261127120000+0000||ACK^R01^ACK|MW17|P|2.5.1\r"
        "MSA|AA|CTRL-42\r");
  auto parsed = hl7::Message::parse(ack);
  CHECK(parsed.value(parsed.first("MSA")->field(2)) == "CTRL-42");
}

TEST_CASE("AE and AR carry ERR segments with location, code and reason") {
  hl7::AckRequest req;
  req.header.control_id = "X1";
  req.header.version = "2.3";
  req.code = hl7::AckCode::AE;
  req.control_id = "MW1";
  req.timestamp = "20261127120000+0000";
  req.issues.push_back({"OBX", 2, 6, 103, "unit 'mg/dL' cannot be converted"});
  auto ack = hl7::build_ack(req);
  CHECK_THAT(ack, Catch::Contains("||ACK^R01|MW1|P|2.3\r"));  // pre-2.4: no structure component
  CHECK_THAT(ack, Catch::Contains("MSA|AE|X1\r"));
  CHECK_THAT(ack,
             Catch::Contains("ERR|OBX^2^6^103&Table value not found&HL70357|OBX^2^6|103^Table "
                             "value not found^HL70357|E||||unit 'mg/dL' cannot be converted\r"));
}

TEST_CASE("hostile header values cannot inject segments into the ACK") {
  hl7::AckRequest req;
  req.header.sending_application = "EVIL\rMSA|AA|forged";
  req.header.control_id = "X|Y^Z";
  req.control_id = "MW1";
  req.timestamp = "20261127120000+0000";
  req.code = hl7::AckCode::AR;
  req.issues.push_back({"MSH", 1, 0, 207, "bad\r\x01thing|here"});
  auto ack = hl7::build_ack(req);
  auto parsed = hl7::Message::parse(ack);
  CHECK(parsed.segments().size() == 3);  // MSH, MSA, ERR
  CHECK(parsed.value(parsed.first("MSA")->field(1)) == "AR");
}

TEST_CASE("the ACK carries no byte of the header that is not UTF-8, nor part of a character") {
  // Found by tests/fuzz/hl7_message_fuzz.cpp: a message refused for its encoding (not UTF-8, no
  // MSH-18) was answered with its header's bytes copied into the ACK, which then was not UTF-8.
  const std::string latin1 =
      "MSH|^~\\&|LAB|H\xd4PITAL\x9d|MW|ONC|20161215||ORU^R01|C\xe9|P|2.5.1\r";
  hl7::AckRequest req;
  req.header = hl7::salvage_header(latin1);
  req.control_id = "MW1";
  req.timestamp = "20261127120000+0000";
  req.code = hl7::AckCode::AE;
  const auto ack = hl7::build_ack(req);
  CHECK(text::is_valid_utf8(ack));
  const auto parsed = hl7::Message::parse(ack);
  CHECK(parsed.value(parsed.msh().field(6)) == "HPITAL");
  CHECK(parsed.value(parsed.first("MSA")->field(2)) == "C");
  // UTF-8 is kept whole; 200 bytes at most, never cutting a character in two.
  req.header.sending_facility = "H\xC3\xB4pital";
  req.header.control_id = std::string(199, 'x') + "\xC3\xA9";
  const auto whole = hl7::Message::parse(hl7::build_ack(req));
  CHECK(whole.value(whole.msh().field(6)) == "H\xC3\xB4pital");
  CHECK(whole.value(whole.first("MSA")->field(2)) == std::string(199, 'x'));
}

TEST_CASE("the header of an unparseable message is salvaged for the ACK") {
  auto h = hl7::salvage_header("MSH|^|LAB|FAC|||2016||ORU^R01|CTL9^x|P|2.4\rgarbage");
  CHECK(h.control_id == "CTL9");
  CHECK(h.version == "2.4");
  CHECK(h.sending_application == "LAB");
  CHECK(hl7::salvage_header("garbage").control_id.empty());
}
