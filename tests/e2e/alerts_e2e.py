"""The seed case's three alerts through every path (issue #3): (a) replay from the CSV files,
(b) import then replay --db (which changes nothing), (c) ORU^R01 messages sent to the running daemon
over MLLP in file order and shuffled, then `markerwatch alerts --format json`. Plus replay's exit
status on bad input and the alert log written in the import's transaction; `markerwatch reevaluate`
after a rule change."""
import csv
import hashlib
import json
import os
import random
import subprocess

import harness as h
from seed_e2e import CONFIG, to_oru

EXPECTED = [
    # marker, class, rules, event_date, fire_date, severity
    ("AFP", "progression", ["R_RISE", "R_RENORM"], "2013-07-10", "2013-10-02", "high"),
    ("AFP", "progression", ["R_RISE"], "2015-06-10", "2015-09-09", "high"),
    ("AFP", "residual", ["R_NODECLINE"], "2016-12-15", "2016-12-15", "high"),
]


def key(e):
    return (e["marker"], e["class"], e["rules"], e["event_date"], e["fire_date"], e["severity"])


def replay(a, *argv, check_rc=True):
    out = h.cli(a.bin, "replay", "--format", "json", *argv, check_rc=check_rc)
    return out, [json.loads(line) for line in out.stdout.decode().splitlines() if line.strip()]


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main(a, tmp):
    seed = os.path.join(a.shared, "seed")
    results, milestones = os.path.join(seed, "results.csv"), os.path.join(seed, "milestones.csv")
    config = os.path.join(tmp, "cli.toml")
    with open(config, "w") as f:
        f.write(CONFIG)

    # (a) replay from the files: exactly three NEW events, each alert id used once.
    _, events = replay(a, "--config", config, "--results", results, "--milestones", milestones)
    news = [e for e in events if e["event"] == "new"]
    h.check([key(e) for e in news] == EXPECTED, "replay: exactly the three expected NEW alerts")
    h.check(len({e["alert_id"] for e in news}) == 3, "replay: three distinct alert ids")
    h.check(not [e for e in events if e["event"] in ("retract", "suppressed")],
            "replay: nothing retracted or suppressed")
    for e in news:
        for k in ("event", "alert_id", "patient_id", "marker", "class", "rules", "event_date",
                  "fire_date", "severity", "value", "unit", "confirmer", "anchor", "summary"):
            h.check(k in e, "replay JSON has key %s" % k)
    h.check(news[0]["confirmer"] == {"value": 340.0, "date": "2013-10-02"}
            and news[0]["anchor"]["kind"] == "metastasectomy"
            and news[0]["anchor"]["date"] == "2012-04-10", "alert 1: confirmer and anchor")
    h.check(news[2]["confirmer"] is None and news[2]["value"] == 45985, "alert 3: no confirmer")
    h.check(all(e["alert_id"] == 2 for e in events if e["event"] == "update"),
            "the rise keeps qualifying: UPDATEs of alert 2 only")
    # The same results file named twice: the second reading repeats every row and adds nothing.
    _, twice = replay(a, "--config", config, "--results", results, "--milestones", results)
    _, once = replay(a, "--config", config, "--results", results)
    h.check(twice == once and len(once) > 0, "replay of one file named as both inputs: as once")
    table = h.cli(a.bin, "replay", "--config", config, "--results", results,
                  "--milestones", milestones).stdout.decode()
    h.check(table.count("\nnew ") == 3 and "R_RISE,R_RENORM" in table, "replay table for people")

    # (b) import (results first: the alerts are right whatever the order), then replay --db.
    db = os.path.join(tmp, "imported.db")
    out = h.cli(a.bin, "import", "--config", config, "--db", db, results, milestones)
    h.check(b"alert log:" in out.stdout, "import reports the alert log entries it wrote")
    alerts = json.loads(h.cli(a.bin, "alerts", "--config", config, "--db", db, "--state", "all",
                              "--format", "json").stdout)
    live = sorted([x for x in alerts if x["state"] != "retracted"], key=lambda x: x["event_date"])
    h.check([key(x) for x in live] == EXPECTED, "import: the three alerts are stored")
    h.check(all(x["state"] == "resolved" for x in live), "import: all three resolved later on")
    open_now = json.loads(h.cli(a.bin, "alerts", "--config", config, "--db", db,
                                "--format", "json").stdout)
    h.check(open_now == [], "alerts lists open alerts by default: none left open in the seed")
    log_rows = h.query(db, "SELECT count(*) FROM alert_events WHERE event = 'new'")[0][0]
    h.check(log_rows >= 3, "the alert log holds the NEW events")
    before = sha(db)
    _, db_events = replay(a, "--config", config, "--db", db)
    h.check([key(e) for e in db_events if e["event"] == "new"] == EXPECTED,
            "replay --db: exactly the three expected NEW alerts")
    h.check(db_events == events, "replay --db prints the same events as the file replay")
    _, one = replay(a, "--config", config, "--db", db, "--patient", "case-001")
    h.check(one == events, "replay --db --patient")
    _, nobody = replay(a, "--config", config, "--db", db, "--patient", "nobody")
    h.check(nobody == [], "replay --db of an unknown patient prints nothing")
    h.check(sha(db) == before, "replay --db changes nothing in the database")

    # (c) the running daemon, results as ORU^R01 over MLLP, milestones through the CLI.
    rows = list(csv.DictReader(open(results)))
    messages = [to_oru(i, r) for i, r in enumerate(rows)]
    for name, order in (("file-order", list(range(len(rows)))),
                        ("shuffled", random.Random(1834).sample(range(len(rows)), len(rows)))):
        codes, alerts, db = h.milestones_then_mllp(a, os.path.join(tmp, name), CONFIG, config,
                                                   milestones, [messages[i] for i in order], name)
        h.check(codes == ["AA"] * 34, "%s: 34 AA" % name)
        live = sorted([x for x in alerts if x["state"] != "retracted"],
                      key=lambda x: x["event_date"])
        h.check([key(x) for x in live] == EXPECTED, "%s over MLLP: the three alerts" % name)
        if name == "file-order":
            news = h.query(db, "SELECT count(*) FROM alert_events WHERE event = 'new'")[0][0]
            h.check(news == 3, "file order over MLLP: exactly three NEW events in the alert log")

    # (d) A correction imported by another process while the daemon runs: the daemon's writer,
    # with its series cache on (off by default), keeps case-001's AFP series in memory between
    # messages, so its next evaluation must see the corrected value. With 45985 still counting on
    # 2016-12-15, the residual alert that the correction retracted would be raised again by the
    # next message.
    workdir = os.path.join(tmp, "correction")
    os.mkdir(workdir)
    d = h.Daemon(a.bin, workdir, CONFIG, storage_extra="series_cache_values = 131072\n").start()
    try:
        h.cli(a.bin, "import", "--config", config, "--db", d.db, milestones)
        path = os.path.join(workdir, "results.mllp")
        with open(path, "wb") as f:
            f.write(b"".join(h.frame(m) for m in messages))
        h.check([c for c, _, _ in h.mllp_send(d.port, path)] == ["AA"] * 34,
                "correction: the seed's 34 messages accepted")
        correction = os.path.join(workdir, "correction.csv")
        with open(correction, "w") as f:
            f.write("patient_id,marker,collected_at,value,unit,status\n"
                    "case-001,AFP,2016-12-15,4,ng/mL,corrected\n")
        out = h.cli(a.bin, "import", "--config", config, "--db", d.db, correction).stdout
        h.check(b"1 retract" in out, "correction: the import retracts the residual alert: %r" % out)
        later = h.oru("LATER-1", "case-001",
                      [h.afp_obx(1, "3.1", collected="20220112")], collected="20220112")
        h.check(h.exchange(d.port, later.replace(b"^^^HOSP^MR", b""))[0] == "AA",
                "correction: a later AFP value accepted")
        alerts = json.loads(h.cli(a.bin, "alerts", "--config", config, "--db", d.db, "--state",
                                  "all", "--format", "json").stdout)
        residual = [(x["state"], x["rules"]) for x in alerts if x["class"] == "residual"]
        h.check(residual == [("retracted", ["R_NODECLINE"])],
                "correction: after the next message the residual alert stays retracted, none "
                "raised again: %r" % residual)
    finally:
        h.check(d.stop() == 0, "correction: clean stop")

    # Milestones added one by one with `milestones add` re-evaluate the patient each time: the
    # alerts first raised on the results alone are retracted or updated, and the end state is the
    # seed's three alerts.
    db = os.path.join(tmp, "milestones-later.db")
    h.cli(a.bin, "import", "--config", config, "--db", db, results)
    before = json.loads(h.cli(a.bin, "alerts", "--config", config, "--db", db, "--state", "all",
                              "--format", "json").stdout)
    h.check([key(x) for x in before] != EXPECTED, "without milestones the alerts differ")
    said = b""
    for m in csv.DictReader(open(milestones)):
        said += h.cli(a.bin, "milestones", "add", "--config", config, "--db", db, "--patient",
                      m["patient_id"], "--kind", m["kind"], "--date", m["date"]).stdout
    h.check(b"alert log: retract" in said and b"alert log: new" in said,
            "milestones add reports the alert events it caused")
    alerts = json.loads(h.cli(a.bin, "alerts", "--config", config, "--db", db, "--state", "all",
                              "--format", "json").stdout)
    live = sorted([x for x in alerts if x["state"] != "retracted"], key=lambda x: x["event_date"])
    h.check([key(x) for x in live] == EXPECTED, "after the milestones: the three seed alerts")
    h.check(any(x["state"] == "retracted" for x in alerts), "the earlier alerts stay, retracted")

    # Review by people: acknowledge and resolve with who and why, the alert log, filters, show.
    db = os.path.join(tmp, "review.db")
    part = os.path.join(tmp, "part.csv")
    with open(results) as src, open(part, "w") as dst:
        dst.writelines(src.readlines()[:20])  # up to 2015-09-09: alert 2 is open
    h.cli(a.bin, "import", "--config", config, "--db", db, milestones, part)
    common = ["--config", config, "--db", db]
    open_alerts = json.loads(h.cli(a.bin, "alerts", *common, "--format", "json").stdout)
    h.check([x["alert_id"] for x in open_alerts] == [2], "alert 2 is open after the partial import")
    out = h.cli(a.bin, "alert", "ack", "1", "--by", "Dr. Lee", *common, check_rc=False)
    h.check(out.returncode == 2 and b"already resolved" in out.stderr, "a resolved alert cannot be acked")
    out = h.cli(a.bin, "alert", "ack", "99", "--by", "Dr. Lee", *common, check_rc=False)
    h.check(out.returncode == 2 and b"no alert with id 99" in out.stderr, "unknown alert id")
    h.cli(a.bin, "alert", "ack", "2", "--by", "Dr. Lee", "--note", "CT booked", *common)
    acked = json.loads(h.cli(a.bin, "alerts", *common, "--state", "acknowledged", "--format",
                             "json").stdout)
    h.check([(x["alert_id"], x["acknowledged_by"]) for x in acked] == [(2, "Dr. Lee")],
            "alert 2 acknowledged by Dr. Lee")
    show = h.cli(a.bin, "alert", "show", "2", *common).stdout.decode()
    h.check("<- candidate" in show and "<- confirmer" in show and "CT booked" in show,
            "alert show marks the firing values and lists the events")
    h.cli(a.bin, "alert", "resolve", "2", "--by", "Dr. Lee", "--note", "imaging negative", *common)
    h.cli(a.bin, "import", "--config", config, "--db", db, results)
    final = {x["alert_id"]: x for x in json.loads(h.cli(a.bin, "alerts", *common, "--state", "all",
                                                         "--format", "json").stdout)}
    h.check(final[2]["state"] == "resolved" and final[2]["resolved_by"] == "Dr. Lee" and
            len(final[2]["later_firings"]) > 0,
            "a person's resolution holds while later firings are recorded")
    log = json.loads(h.cli(a.bin, "log", *common, "--patient", "case-001", "--format", "json").stdout)
    h.check([e["id"] for e in log] == sorted((e["id"] for e in log), reverse=True), "log: newest first")
    actions = [(e["event"], e["actor"], e.get("note")) for e in log if e["actor"] != "engine"]
    h.check(actions == [("resolve", "Dr. Lee", "imaging negative"),
                        ("acknowledge", "Dr. Lee", "CT booked")], "log: who did what and why")
    h.check(any(e["event"] == "update" and e["alert_id"] == 2 for e in log),
            "log: the later data recorded as an UPDATE of the resolved alert")
    high_2015 = json.loads(h.cli(a.bin, "alerts", *common, "--state", "all", "--severity", "high",
                                 "--since", "2015-01-01", "--until", "2015-12-31", "--format",
                                 "json").stdout)
    h.check([x["alert_id"] for x in high_2015] == [2], "alerts filters: severity and fire date range")
    for bad in ("2015-13-01", "yesterday", "2015-01-01'; DROP TABLE alerts;--"):
        out = h.cli(a.bin, "alerts", *common, "--since", bad, check_rc=False)
        h.check(out.returncode == 2 and b"is not a date" in out.stderr, "alerts --since %r refused" % bad)
    out = h.cli(a.bin, "alert", "ack", "2", "--by", "", *common, check_rc=False)
    h.check(out.returncode == 2, "alert ack without a name is refused")
    csv_out = h.cli(a.bin, "alerts", *common, "--state", "all", "--format", "csv").stdout.decode()
    h.check(csv_out.startswith("id,state,severity,patient,marker") and csv_out.count("\n") == 4,
            "alerts --format csv")

    # Bad input: file, line and reason, non-zero exit, and the valid rows still replayed.
    bad = os.path.join(tmp, "bad.csv")
    with open(bad, "w") as f:
        f.write("patient_id,marker,collected_at,value,unit\np1,AFP,2020-01-01,5,ng/mL\n"
                "p1,AFP,2020-13-01,5,ng/mL\np1,AFP,2020-02-01,lots,ng/mL\np1,XYZ,2020-03-01,5,ng/mL\n")
    out, _ = replay(a, "--results", bad, check_rc=False)
    err = out.stderr.decode()
    h.check(out.returncode == 1, "replay of bad rows exits 1")
    h.check("bad.csv:3:" in err and "bad.csv:4:" in err and "bad.csv:5:" in err,
            "each bad row named by file and line: %r" % err)
    out = h.cli(a.bin, "replay", "--results", os.path.join(tmp, "missing.csv"), check_rc=False)
    h.check(out.returncode == 2 and b"missing.csv" in out.stderr, "a missing file exits 2")
    # The results file is read on a thread of its own while the milestones are replayed: its
    # failure still reaches the command, as the milestones file's does.
    out = h.cli(a.bin, "replay", "--results", os.path.join(tmp, "missing.csv"), "--milestones",
                milestones, check_rc=False)
    h.check(out.returncode == 2 and b"missing.csv: cannot be read" in out.stderr,
            "a missing results file beside milestones exits 2: %r" % out.stderr)
    out = h.cli(a.bin, "replay", "--results", results, "--milestones",
                os.path.join(tmp, "gone.csv"), check_rc=False)
    h.check(out.returncode == 2 and b"gone.csv: cannot be read" in out.stderr,
            "a missing milestones file exits 2: %r" % out.stderr)
    for threads in ("0", "65", "two"):
        out = h.cli(a.bin, "replay", "--results", results, "--threads", threads, check_rc=False)
        h.check(out.returncode == 2 and b"--threads" in out.stderr, "replay --threads %s refused" % threads)
    out = h.cli(a.bin, "replay", "--results", milestones, "--db", db, check_rc=False)
    h.check(out.returncode == 2, "--results with --db is a usage error")
    # Output that cannot be written is an error, not a silent loss.
    with open("/dev/full", "wb") as full:
        p = subprocess.run([os.path.join(a.bin, "markerwatch"), "replay", "--format", "json",
                            "--config", config, "--results", results, "--milestones", milestones],
                           stdout=full, stderr=subprocess.PIPE, timeout=120)
    h.check(p.returncode == 2 and b"writing the output" in p.stderr,
            "replay to a full disk exits 2 and says so: %r" % p.stderr)
    with open(bad, "wb") as f:
        f.write(b"\xff\xfe garbage\n")
    out = h.cli(a.bin, "replay", "--results", bad, check_rc=False)
    h.check(out.returncode == 2 and b"bad.csv" in out.stderr, "a file that is no CSV exits 2")
    reevaluate(a, tmp, config, results, milestones)


def reevaluate(a, tmp, config, results, milestones):
    """`markerwatch reevaluate` after a rule change: what changed goes into the alert log (here
    UPDATEs of alerts 1 and 2, which R_RENORM still raises without R_RISE), nothing else; run
    again it finds nothing; back on the old rules the stored alerts are the seed's three again."""
    db = os.path.join(tmp, "reevaluate.db")
    h.cli(a.bin, "import", "--config", config, "--db", db, milestones, results)
    common = ["--config", config, "--db", db]

    def stored():
        alerts = json.loads(h.cli(a.bin, "alerts", *common, "--state", "all", "--format",
                                  "json").stdout)
        return sorted(key(x) for x in alerts if x["state"] != "retracted")

    h.check(stored() == sorted(EXPECTED), "reevaluate: the seed's three alerts to begin with")
    out = h.cli(a.bin, "reevaluate", *common).stdout.decode()
    h.check("re-evaluated 1 patient" in out and "new 0, update 0, resolve 0, retract 0" in out,
            "with unchanged rules nothing changes: %r" % out[-200:])
    before = len(json.loads(h.cli(a.bin, "log", *common, "--format", "json", "--limit",
                                  "1000").stdout))

    no_rise = os.path.join(tmp, "no_rise.toml")
    with open(no_rise, "w") as f:
        f.write(CONFIG + '[markers.AFP]\nrise = "off"\n')
    changed = h.cli(a.bin, "reevaluate", "--config", no_rise, "--db", db, "--format", "json")
    events = [json.loads(line) for line in changed.stdout.decode().splitlines()]
    h.check([(e["event"], e["alert_id"], e["rules"]) for e in events] ==
            [("update", 1, ["R_RENORM"]), ("update", 2, ["R_RENORM"])],
            "with R_RISE off: alerts 1 and 2 updated to R_RENORM alone: %r"
            % [(e["event"], e["alert_id"], e["rules"]) for e in events])
    log = json.loads(h.cli(a.bin, "log", *common, "--format", "json", "--limit", "1000").stdout)
    h.check(len(log) == before + 2, "the two updates are in the alert log (%d -> %d)"
            % (before, len(log)))
    again = h.cli(a.bin, "reevaluate", "--config", no_rise, "--db", db).stdout.decode()
    h.check("update 0" in again and "new 0" in again, "run again, it changes nothing")
    # Replay --db with the new rules shows the same alerts as the store now holds.
    _, replayed = replay(a, "--config", no_rise, "--db", db)
    last = {}
    for e in replayed:
        if e["event"] in ("new", "update", "resolve", "retract"):
            last[e["alert_id"]] = e
    now = json.loads(h.cli(a.bin, "alerts", *common, "--state", "all", "--format", "json").stdout)
    h.check(sorted(key(e) for e in last.values() if e["event"] != "retract") ==
            sorted(key(x) for x in now if x["state"] != "retracted"),
            "the stored alerts are what replay --db gives with the new rules")

    h.cli(a.bin, "reevaluate", *common)
    h.check(stored() == sorted(EXPECTED), "back on the old rules: the seed's three alerts again")
    out = h.cli(a.bin, "reevaluate", *common, "--patient", "nobody", check_rc=False)
    h.check(out.returncode == 2 and b"no such patient: nobody" in out.stderr,
            "an unknown patient is refused: %r" % out.stderr)
    for bad in (["--format", "xml"], ["--patient", "a\x01b"], ["--patient", ""]):
        out = h.cli(a.bin, "reevaluate", *common, *bad, check_rc=False)
        h.check(out.returncode == 2 and out.stdout == b"",
                "reevaluate %r refused before it writes anything: %r" % (bad, out.stderr))
    out = h.cli(a.bin, "reevaluate", "--db", os.path.join(tmp, "none.db"), check_rc=False)
    h.check(out.returncode == 2 and not os.path.exists(os.path.join(tmp, "none.db")),
            "no database: refused, and none is created")


if __name__ == "__main__":
    h.run(main)
