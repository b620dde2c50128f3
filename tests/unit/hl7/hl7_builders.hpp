#pragma once
// Builds ORU^R01 messages for tests: one patient, one order, the OBX lines given.
#include <string>
#include <vector>

namespace markerwatch::test {

inline std::string oru(const std::vector<std::string>& obx, const std::string& control_id = "CTRL1",
                       const std::string& pid = "PID|1||case-001^^^HOSP^MR||Doe^Jane",
                       const std::string& msh_tail = "P|2.5.1") {
  std::string m = "MSH|^~\\&|LAB|HOSP|MW|ONC|20161215093000||ORU^R01^ORU_R01|" + control_id + "|" +
                  msh_tail + "\r" + pid + "\r" +
                  "OBR|1|ORD1|FILL1|1834-1^AFP^LN|||20161215083000\r";
  for (const auto& o : obx) m += o + "\r";
  return m;
}

inline std::string afp_obx(const std::string& value, const std::string& unit = "ng/mL",
                           const std::string& status = "F", const std::string& type = "NM",
                           const std::string& time = "20161215083000") {
  return "OBX|1|" + type + "|1834-1^AFP^LN||" + value + "|" + unit + "|0-10||||" + status + "|||" +
         time;
}

}  // namespace markerwatch::test
