"""Every path leaves the same alerts (issue #3: "whether it is replayed from files, imported, or
sent to the running daemon over MLLP, in any arrival order"; and FHIR Observations over HTTP), on a
generated history much richer than the seed case: six markers with method groups and a second
unit, censored values, corrections (some arriving before their original), removals, preliminary
values, every kind of milestone, and patients whose lab names them with an assigning authority
while their milestones do not. The alerts compared are the live ones (not retracted) with their
identity, rules, dates, severity, value, anchor and state."""
import csv
import datetime
import json
import os
import random

import harness as h
from http_e2e import request, token_lines
from seed_e2e import CONFIG

PATIENTS = 120
MARKERS = [  # name, unit, ULN, OBX-3
    ("AFP", "ng/mL", 8, "1834-1^Alpha-1-Fetoprotein^LN"),
    ("AFP", "IU/mL", 8, "1834-1^Alpha-1-Fetoprotein^LN"),
    ("PSA", "ng/mL", 4, "2857-1^PSA^LN"),
    ("CA-125", "U/mL", 35, "10334-1^CA-125^LN"),
    ("CEA", "ng/mL", 5, "2039-6^CEA^LN"),
    ("PIVKA-II", "mAU/mL", 40, "DCP^PIVKA-II^L"),
]
KINDS = ["resection", "tace", "systemic_start", "systemic_stop", "vka_start", "vka_stop",
         "radical_prostatectomy", "radiotherapy_start", "transplant", "ablation", "imaging"]
STATUS = {"final": "F", "corrected": "C", "entered_in_error": "W", "preliminary": "P"}
HOSP = "urn:oid:2.16.840.1.113883.19.5"  # the lab's patient identifier system, for FHIR


def generate(seed):
    """(results, milestones): lists of CSV dict rows, each in arrival order."""
    rng = random.Random(seed)
    base = datetime.date(2014, 1, 1)
    results, milestones = [], []
    for p in range(PATIENTS):
        pid = "P%04d" % p
        lab_id = pid + "^HOSP" if p % 3 == 0 else pid  # the lab sends CX-4 for a third
        for _ in range(rng.randint(0, 4)):
            kind = rng.choice(KINDS)
            day = base + datetime.timedelta(days=rng.randint(0, 1500))
            end = ""
            if kind == "vka_start" and rng.random() < 0.4:
                end = str(day + datetime.timedelta(days=rng.randint(10, 300)))
            markers = rng.choice(["", "", "AFP", "PSA", "AFP;PIVKA-II"])
            milestones.append((rng.random(), dict(patient_id=pid, kind=kind, date=str(day),
                                                  end_date=end, markers=markers)))
        for marker, unit, uln, _ in rng.sample(MARKERS, rng.randint(1, 3)):
            value, day = uln * rng.uniform(0.2, 30), rng.randint(0, 60)
            for i in range(rng.randint(3, 25)):
                day += rng.choice([0, 1, 7, 13, 14, 15, 28, 30, 42, 90])
                value *= rng.uniform(0.5, 1.8)
                method = rng.choice(["", "Abbott", "Roche"]) if rng.random() < 0.3 else ""
                text = "%.1f" % value
                r = rng.random()
                if r < 0.05:
                    text = "<%.1f" % (uln / 2)
                elif r < 0.08:
                    text = ">%.0f" % value
                row = dict(patient_id=lab_id, marker=marker,
                           collected_at=str(base + datetime.timedelta(days=day)), value=text,
                           unit=unit, status="final", obs_id="%s-%s-%s-%d" % (pid, marker, unit, i),
                           method=method)
                results.append((rng.random(), row))
                if rng.random() < 0.06:
                    results.append((rng.random(), dict(row, status="corrected",
                                                       value="%.1f" % (value * 1.3))))
                if rng.random() < 0.03:
                    results.append((rng.random(), dict(row, status="entered_in_error", value="")))
                if rng.random() < 0.04:
                    results.append((rng.random(), dict(row, status="preliminary",
                                                       obs_id=row["obs_id"] + "p")))
    # Random keys: patients interleaved, and a correction may arrive before its original.
    return [r for _, r in sorted(results, key=lambda x: x[0])], \
        [m for _, m in sorted(milestones, key=lambda x: x[0])]


def write_csv(path, rows, columns):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def to_oru(i, row):
    """One result as an ORU^R01 message; its observation identity (OBR-3 filler, OBX-3, OBX-4) is
    the CSV obs_id's, so corrections and removals find their original on both paths."""
    code = next(c for m, u, _, c in MARKERS if m == row["marker"] and u == row["unit"])
    value = row["value"]
    if value and value[0] in "<>":
        obx2, obx5 = "SN", "%s^%s" % (value[0], value[1:])
    else:
        obx2, obx5 = "NM", value
    date = row["collected_at"].replace("-", "")
    ident, _, authority = row["patient_id"].partition("^")
    cx = "%s^^^%s^MR" % (ident, authority) if authority else ident
    segs = [
        "MSH|^~\\&|LAB|HOSP|MW|ONC|20200101120000||ORU^R01^ORU_R01|PATHS-%05d|P|2.5.1" % i,
        "PID|1||%s||Doe^Jane" % cx,
        "OBR|1||F-%s|%s|||%s" % (row["obs_id"], code, date),
        "OBX|1|%s|%s|1|%s|%s|||||%s|||%s|||%s" % (obx2, code, obx5, row["unit"],
                                                STATUS[row["status"]], date, row["method"]),
    ]
    return ("\r".join(segs) + "\r").encode()


def to_observation(row):
    """One result as a FHIR R4 Observation; its id carries the CSV obs_id (corrections and
    removals replace by resource id)."""
    obx3 = next(c for m, u, _, c in MARKERS if m == row["marker"] and u == row["unit"]).split("^")
    ident, _, authority = row["patient_id"].partition("^")
    subject = {"value": ident}
    if authority:
        subject["system"] = HOSP
    o = {"resourceType": "Observation", "id": row["obs_id"].replace("/", "."),
         "status": row["status"].replace("_", "-"),
         "code": {"coding": [{"system": "http://loinc.org" if obx3[2] == "LN" else obx3[2],
                              "code": obx3[0]}]},
         "subject": {"identifier": subject}, "effectiveDateTime": row["collected_at"]}
    if row["method"]:
        o["method"] = {"text": row["method"]}
    value = row["value"]
    if value:
        q = {"unit": row["unit"]}
        if value[0] in "<>":
            q["comparator"], value = value[0], value[1:]
        q["value"] = float(value)
        o["valueQuantity"] = q
    return o


def identity(patient_id):
    return patient_id.partition("^")[0]


def alert_key(a):
    return (identity(a["patient_id"]), a["marker"], a["method"], a["class"], a.get("arm"),
            tuple(a["rules"]), a["event_date"], a["fire_date"], a["severity"], a["value"],
            json.dumps(a["anchor"], sort_keys=True), a["state"])


def replayed_alerts(events):
    """The live alerts after applying every event (each carries the alert's whole state)."""
    alerts = {}
    for e in events:
        if e.get("alert_id") is not None and e["event"] in ("new", "update", "resolve", "retract"):
            alerts[e["alert_id"]] = e
    return live_keys(alerts.values())


def live_keys(alerts):
    return {alert_key(x) for x in alerts if x["state"] != "retracted"}


def stored_alerts(a, config, db):
    return live_keys(json.loads(h.cli(a.bin, "alerts", "--config", config, "--db", db, "--state",
                                      "all", "--format", "json").stdout))


def replay(a, config, *argv):
    out = h.cli(a.bin, "replay", "--config", config, "--format", "json", *argv)
    return [json.loads(line) for line in out.stdout.decode().splitlines() if line.strip()]


def main(a, tmp):
    config = os.path.join(tmp, "cli.toml")
    with open(config, "w") as f:
        f.write(CONFIG)
    results, milestones = generate(2013)
    results_csv, milestones_csv = os.path.join(tmp, "r.csv"), os.path.join(tmp, "m.csv")
    write_csv(results_csv, results, ["patient_id", "marker", "collected_at", "value", "unit",
                                     "status", "obs_id", "method"])
    write_csv(milestones_csv, milestones, ["patient_id", "kind", "date", "end_date", "markers"])

    expected = replayed_alerts(replay(a, config, "--results", results_csv,
                                      "--milestones", milestones_csv))
    states = {k[-1] for k in expected}
    classes = {k[3] for k in expected}
    h.check(len(expected) > 100 and {"open", "resolved"} <= states
            and {"progression", "residual"} <= classes,
            "replay of %d results and %d milestones: %d live alerts, open and resolved, both "
            "classes" % (len(results), len(milestones), len(expected)))
    anchored = [k for k in expected if k[0] in {"P%04d" % p for p in range(0, PATIENTS, 3)}
                and k[10] != "null"]
    h.check(anchored, "milestones written without the lab's authority anchor its alerts")

    for name, files in (("milestones first", [milestones_csv, results_csv]),
                        ("results first", [results_csv, milestones_csv])):
        db = os.path.join(tmp, name.replace(" ", "-") + ".db")
        h.cli(a.bin, "import", "--config", config, "--db", db, *files)
        h.check(stored_alerts(a, config, db) == expected,
                "import, %s: the same live alerts as the replay" % name)
        h.check(replayed_alerts(replay(a, config, "--db", db)) == expected,
                "import, %s: replay --db agrees" % name)

    messages = [to_oru(i, r) for i, r in enumerate(results)]
    for name, order in (("file order", list(range(len(results)))),
                        ("shuffled", random.Random(2016).sample(range(len(results)),
                                                                len(results)))):
        codes, alerts, _ = h.milestones_then_mllp(
            a, os.path.join(tmp, name.replace(" ", "-")), CONFIG, config, milestones_csv,
            [messages[i] for i in order], "MLLP, " + name)
        h.check(len(codes) == len(messages) and all(c == "AA" for c in codes),
                "MLLP, %s: %d messages, all AA" % (name, len(messages)))
        got = live_keys(alerts)
        h.check(got == expected, "MLLP, %s: the same live alerts as the replay" % name)

    # FHIR R4: the results as Observations in batch Bundles, the lab's identifier system mapped
    # to the authority its HL7 messages carry.
    sub = os.path.join(tmp, "fhir")
    os.mkdir(sub)
    token, token_config = token_lines(a, "lab-feed", "ingest")
    d = h.Daemon(a.bin, sub, CONFIG + '[fhir.authorities]\n"%s" = "HOSP"\n' % HOSP
                 + token_config + "\n").start()
    try:
        h.cli(a.bin, "import", "--config", config, "--db", d.db, milestones_csv)
        statuses, refused = [], []
        for start in range(0, len(results), 100):
            bundle = {"resourceType": "Bundle", "type": "batch", "entry": [
                {"resource": to_observation(r), "request": {"method": "POST", "url": "Observation"}}
                for r in results[start:start + 100]]}
            r, data = request(d.http_port, "POST", "/fhir", token, json.dumps(bundle),
                              {"Content-Type": "application/fhir+json"})
            if r.status != 200:
                refused.append((r.status, data[:300]))
                continue
            statuses += [e["response"]["status"] for e in json.loads(data)["entry"]]
        h.check(not refused, "FHIR: every batch answered 200: %r" % refused[:1])
        h.check(len(statuses) == len(results) and all(s.startswith(("200", "201")) for s in statuses),
                "FHIR: %d Observations in batch Bundles, none refused" % len(results))
        got = stored_alerts(a, config, d.db)
    finally:
        h.check(d.stop() == 0, "FHIR: clean stop")
    h.check(got == expected, "FHIR: the same live alerts as the replay")


if __name__ == "__main__":
    h.run(main)
