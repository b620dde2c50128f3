"""The `markerwatch` CLI and `markerwatchd --check-config` as a user runs them: exit codes,
one-line errors with file and line, output formats, and bad input that changes nothing."""
import datetime
import json
import os
import pwd
import subprocess

import harness as h


def run(a, *argv):
    return h.cli(a.bin, *argv, check_rc=False)


def write(tmp, name, content, mode="w"):
    path = os.path.join(tmp, name)
    with open(path, mode) as f:
        f.write(content)
    return path


def main(a, tmp):
    db = os.path.join(tmp, "cli.db")
    seed = os.path.join(a.shared, "seed")

    # check-config, both binaries.
    ref = os.path.join(a.source, "config/markerwatch.toml")
    h.check(run(a, "check-config", "--config", ref).returncode == 0, "reference config is valid")
    bad = write(tmp, "bad.toml", "[mllp]\nlisten = \"127.0.0.1:2575\"\nmax_conections = 5\n")
    p = run(a, "check-config", "--config", bad)
    h.check(p.returncode == 2, "bad config: exit 2")
    h.check(b"bad.toml:3:" in p.stderr and b"mllp.max_conections: unknown key" in p.stderr,
            "bad config error names file, line and key")
    d = subprocess.run([os.path.join(a.bin, "markerwatchd"), "--check-config", "--config", bad], capture_output=True)
    h.check(d.returncode == 2 and b"mllp.max_conections" in d.stderr, "markerwatchd --check-config agrees")
    d = subprocess.run([os.path.join(a.bin, "markerwatchd"), "--config", os.path.join(tmp, "missing.toml")], capture_output=True)
    h.check(d.returncode == 2 and b"cannot be read" in d.stderr, "missing config file: exit 2, clear message")

    # import: seed, then bad files next to good ones.
    p = run(a, "import", "--db", db, os.path.join(seed, "results.csv"), os.path.join(seed, "milestones.csv"))
    h.check(p.returncode == 0, "seed import exit 0")
    before = h.query(db, "SELECT count(*), round(sum(value), 6) FROM results")[0]
    mixed = write(tmp, "mixed.csv", "patient_id,marker,collected_at,value,unit\n"
                  "case-002,AFP,2020-01-01,5,ng/mL\ncase-002,AFP,2020-02-01,n/a,ng/mL\n"
                  "case-002,AFP,2020-03-01,5,IU/L\n")
    junk = write(tmp, "junk.bin", b"\x00\xff\xfe\x01" * 100, "wb")
    truncated = write(tmp, "truncated.csv", "patient_id,marker,collected_at,value,unit\ncase-003,AFP,2020-01-01,\"5")
    hl7_bad = write(tmp, "bad.hl7", b"MSH|^~\\&|A|B|||2016||ORU^R01|Z1|P|2.5\rPID|1||\rOBR|1||F|x|||20160101\rOBX|1|NM|1834-1^AFP^LN||5|ng/mL|||||F\r", "wb")
    p = run(a, "import", "--db", db, mixed, junk, truncated, hl7_bad, os.path.join(tmp, "nope.csv"))
    err = p.stderr.decode()
    h.check(p.returncode == 1, "import with rejected parts: exit 1")
    h.check("mixed.csv:3: value 'n/a' is not a number" in err, "bad row reported with file and line")
    h.check("mixed.csv:4: unit 'IU/L' cannot be converted to ng/mL for AFP" in err, "unknown unit reported")
    h.check("junk.bin: not an HL7 file" in err, "binary junk rejected as a whole")
    h.check("truncated.csv:0: line 2: unterminated quoted field" in err, "truncated CSV reported")
    h.check("bad.hl7:1: AE Z1: PID[1]: no patient identifier in PID-3" in err, "HL7 file message rejected with reason")
    h.check("nope.csv: cannot be read" in err, "missing file reported")
    h.check(h.query(db, "SELECT count(*) FROM results")[0][0] == before[0] + 1, "only the one valid row was added")
    after = h.query(db, "SELECT count(*), round(sum(value), 6) FROM results WHERE patient_id = (SELECT id FROM patients WHERE identifier = 'case-001')")[0]
    h.check(after == before, "nothing already stored changed (%s vs %s)" % (after, before))

    # The message log: the rejected HL7 message is there with its reason and bytes.
    rejected = json.loads(run(a, "messages", "--db", db, "--outcome", "rejected", "--format", "json").stdout)
    log = [m for m in rejected if m["control_id"] == "Z1"]
    h.check(len(log) == 1 and log[0]["ack"] == "AE" and "no patient identifier" in log[0]["error"],
            "messages --outcome rejected lists it with its reason")
    h.check(all(m["outcome"] == "rejected" for m in rejected), "and only rejected ones")
    raw = run(a, "messages", "show", str(log[0]["id"]), "--raw", "--db", db).stdout
    h.check(raw.startswith(b"MSH|^~\\&|A|B") and b"\nPID|1||\n" in raw, "messages show --raw prints the bytes received")
    p = run(a, "messages", "show", "999999", "--db", db)
    h.check(p.returncode == 2 and b"no message with id 999999" in p.stderr, "unknown message id: exit 2")
    p = run(a, "messages", "--db", db, "--outcome", "weird")
    h.check(p.returncode == 2, "bad --outcome: exit 2")
    table = run(a, "messages", "--db", db, "--limit", "2").stdout.decode().splitlines()
    h.check(len(table) == 4 and table[0].split()[:2] == ["id", "received_at"], "messages table, newest first, limited")

    # An HL7 batch file (FHS/BHS ... BTS/FTS) whose transfer was cut short: its whole messages
    # are stored and the file is reported incomplete; the complete file then adds the rest.
    def oru(control, day, value):
        return ("MSH|^~\\&|LAB|HOSP|MW|HOSP|2021%s0800||ORU^R01|%s|P|2.5.1\r"
                "PID|1||case-009^^^HOSP^MR\rOBR|1||%s|1834-1^AFP^LN|||2021%s0700\r"
                "OBX|1|NM|1834-1^AFP^LN||%s|ng/mL|||||F|||2021%s0700\r"
                % (day, control, control, day, value, day)).encode()
    envelope = b"FHS|^~\\&|LAB|HOSP\rBHS|^~\\&|LAB|HOSP\r"
    complete = envelope + oru("K1", "0301", "4") + oru("K2", "0401", "5") + b"BTS|2\rFTS|1\r"
    cut = write(tmp, "cut.hl7", complete[:complete.index(b"MSH", complete.index(b"K1"))], "wb")
    p = run(a, "import", "--db", db, cut)
    h.check(p.returncode == 1, "batch file cut short: exit 1")
    h.check(b"cut.hl7: hl7: 1 message(s) accepted" in p.stdout and
            b"0 rejected, 2 problem(s) with the file itself" in p.stdout,
            "its whole message is stored; the file's own problems are counted apart (%r)" % p.stdout)
    h.check(b"cut.hl7:1: the file header (FHS) here has no trailer (FTS)" in p.stderr and
            b"cut.hl7:2: the batch that starts here (BHS) has no trailer (BTS)" in p.stderr,
            "the missing trailers are reported with their headers' lines")
    p = run(a, "import", "--db", db, write(tmp, "complete.hl7", complete, "wb"))
    h.check(p.returncode == 0 and b"1 message(s) accepted" in p.stdout and b"1 duplicate(s)" in p.stdout,
            "the complete batch adds the rest: exit 0 (%r)" % p.stdout)
    h.check(h.query(db, "SELECT group_concat(value_raw) FROM (SELECT value_raw FROM results WHERE patient_id = "
                        "(SELECT id FROM patients WHERE identifier = 'case-009') ORDER BY collected_at)")[0][0] == "4,5",
            "both values stored once")

    # results in every format.
    table = run(a, "results", "--db", db, "--patient", "case-001", "--marker", "afp").stdout.decode()
    h.check(table.splitlines()[0].split()[:3] == ["date", "marker", "value"], "table has a header")
    h.check(">35000" in table and "2016-12-15" in table, "table shows censored values and dates")
    rows = json.loads(run(a, "results", "--db", db, "--patient", "case-001", "--marker", "DCP", "--format", "json").stdout)
    h.check([r["value"] for r in rows] == [117, 20], "json: PIVKA-II by alias")
    csv_out = run(a, "results", "--db", db, "--patient", "case-001", "--format", "csv").stdout.decode().splitlines()
    h.check(len(csv_out) == 35 and csv_out[0].startswith("date,marker,value"), "csv: header + 34 rows")
    padded = run(a, "results", "--db", db, "--patient", " case-001 ", "--format", "csv").stdout.decode().splitlines()
    h.check(padded == csv_out, "--patient with surrounding spaces names the patient an import trims it to")
    padded_alerts = json.loads(run(a, "alerts", "--db", db, "--state", "all", "--patient", "\tcase-001 ", "--format", "json").stdout or b"[]")
    listed_alerts = json.loads(run(a, "alerts", "--db", db, "--state", "all", "--patient", "case-001", "--format", "json").stdout or b"[]")
    h.check(padded_alerts == listed_alerts, "alerts --patient trims as well")
    p = run(a, "results", "--db", db, "--patient", "case-001", "--marker", "glucose")
    h.check(p.returncode == 2 and b"unknown marker 'glucose'" in p.stderr, "unknown marker: exit 2")
    p = run(a, "results", "--db", db, "--patient", "case-001", "--format", "xml")
    h.check(p.returncode == 2, "bad --format: exit 2")

    # milestones add / list.
    p = run(a, "milestones", "add", "--db", db, "--patient", "case-002", "--kind", "resection",
            "--date", "2020-02-15", "--note", "segment 6", "--markers", "AFP;DCP")
    h.check(p.returncode == 0 and b"added resection 2020-02-15" in p.stdout, "milestone added")
    p = run(a, "milestones", "add", "--db", db, "--patient", "case-002", "--kind", "resection", "--date", "2020-02-15",
            "--note", "segment 6", "--markers", "AFP;DCP")
    h.check(b"already present" in p.stdout, "adding it twice changes nothing")
    p = run(a, "milestones", "add", "--db", db, "--patient", " case-003^HOSP ", "--kind", "tace", "--date", "2020-03-01")
    h.check(p.stdout == b"added tace 2020-03-01 for patient case-003^HOSP\n",
            "the patient is printed with its authority, trimmed: %r" % p.stdout)
    for argv, reason in ((["--kind", "surgery", "--date", "2020-01-01"], b"unknown milestone kind 'surgery'"),
                         (["--kind", "tace", "--date", "01/02/2020"], b"is not a date"),
                         (["--kind", "tace", "--date", "2020-01-01", "--markers", "XYZ"], b"unknown marker 'XYZ'")):
        p = run(a, "milestones", "add", "--db", db, "--patient", "case-002", *argv)
        h.check(p.returncode == 2 and reason in p.stderr, "bad milestone: " + reason.decode())
    listed = json.loads(run(a, "milestones", "list", "--db", db, "--patient", "case-002", "--format", "json").stdout)
    h.check(len(listed) == 1 and listed[0]["markers"] == "AFP;PIVKA-II", "milestone listed with canonical markers")
    h.check(len(json.loads(run(a, "milestones", "list", "--db", db, "--format", "json").stdout)) == 13, "all milestones listed")

    # --db wins over the config's path; usage errors exit 2.
    other = os.path.join(tmp, "other.db")
    cfg = write(tmp, "paths.toml", '[storage]\npath = "%s"\n' % other)
    run(a, "import", "--config", cfg, "--db", os.path.join(tmp, "winner.db"), os.path.join(seed, "milestones.csv"))
    h.check(os.path.exists(os.path.join(tmp, "winner.db")) and not os.path.exists(other), "--db wins over [storage] path")
    h.check(run(a, "frobnicate").returncode == 2, "unknown subcommand: exit 2")
    h.check(run(a, "results", "--db", db).returncode == 2, "missing --patient: exit 2")
    for sub in (["results"], ["alerts"], ["log"], ["milestones", "list"], ["milestones", "history"],
                ["chart"], ["replay", "--format", "json"]):
        for bad in ("case-001^", "^HOSP", "a^b^c", ""):
            p = run(a, *sub, "--db", db, "--patient", bad)
            h.check(p.returncode == 2 and (b"neither id nor id^authority" in p.stderr
                                           or b"no identifier before" in p.stderr
                                           or b"patient is empty" in p.stderr),
                    "%s --patient %r: refused as an import refuses it, exit 2" % (" ".join(sub), bad))
    missing = run(a, "results", "--db", os.path.join(tmp, "absent.db"), "--patient", "x")
    h.check(missing.returncode == 2 and b"no database at" in missing.stderr, "reading a missing database: exit 2")
    h.check(not os.path.exists(os.path.join(tmp, "absent.db")), "and it is not created")
    newer = os.path.join(tmp, "newer.db")
    run(a, "import", "--db", newer, os.path.join(seed, "milestones.csv"))
    import sqlite3
    con = sqlite3.connect(newer)
    con.execute("INSERT INTO schema_migrations VALUES (998, 'future', 'x')")
    con.commit()
    con.close()
    p = run(a, "milestones", "list", "--db", newer)
    h.check(p.returncode == 2 and b"newer than this markerwatch knows" in p.stderr, "a newer database is refused")
    cfg_newer = write(tmp, "newer.toml", '[storage]\npath = "%s"\n[mllp]\nlisten = "127.0.0.1:0"\n' % newer)
    d = subprocess.run([os.path.join(a.bin, "markerwatchd"), "--config", cfg_newer], capture_output=True, timeout=30)
    h.check(d.returncode == 1 and b"newer than this markerwatch knows" in d.stderr,
            "markerwatchd refuses a newer database before it gets ready")
    h.check(b"READY" not in d.stdout, "and never reports ready")

    senders(a, db)
    log_since(a, db)
    messages_prune(a, db)
    milestones_remove(a, tmp, seed)


def milestones_remove(a, tmp, seed):
    """A milestone entered in error is removed, and the alerts it grounded are retracted."""
    db = os.path.join(tmp, "remove.db")
    run(a, "import", "--db", db, os.path.join(seed, "milestones.csv"), os.path.join(seed, "results.csv"))

    def alerts():
        return {x["alert_id"]: (x["state"], x["rules"]) for x in
                json.loads(run(a, "alerts", "--db", db, "--state", "all", "--format", "json").stdout)}

    before = alerts()
    h.check(sorted(rules for _, rules in before.values()) ==
            [["R_NODECLINE"], ["R_RISE"], ["R_RISE", "R_RENORM"]], "the seed's three alerts: %r" % before)
    tables = ("results", "alerts", "alert_events", "milestones", "patients")
    stored = {t: h.query(db, "SELECT * FROM %s ORDER BY rowid" % t) for t in tables}
    for argv, reason in (
            (["--patient", "nobody"], b"no patient 'nobody' is stored"),
            (["--patient", "case-001", "--kind", "tace"], b"patient 'case-001' has no tace milestone on 2016-10-20 "
                                                          b"(markerwatch milestones list --patient case-001)"),
            (["--patient", "case-001", "--markers", "AFP"], b"has no resection milestone on 2016-10-20 for AFP"),
            (["--patient", "case-001", "--kind", "surgery"], b"unknown milestone kind 'surgery'"),
            (["--patient", "case-001", "--date", "2016-02-30"], b"is not a date"),
            (["--patient", "case-001", "--markers", "XYZ"], b"unknown marker 'XYZ'"),
            (["--patient", "case-001\x1b[31m"], b"--patient: patient contains control characters"),
            (["--patient", "case-001", "--by", "   "], b"--by needs a name"),
            (["--patient", "case-001", "--by", "x" * 201], b"--by is longer than 200 characters"),
            (["--patient", "case-001", "--by", "eve\x1b[31m"], b"--by contains control characters")):
        args = {"--kind": "resection", "--date": "2016-10-20"}
        args.update(dict(zip(argv[::2], argv[1::2])))
        p = run(a, "milestones", "remove", "--db", db, *[x for kv in args.items() for x in kv])
        h.check(p.returncode == 2 and reason in p.stderr and
                (len(p.stderr.splitlines()) == 1 or b"Run with --help" in p.stderr),
                "milestones remove %r: exit 2, one line: %r" % (argv, p.stderr))
    h.check({t: h.query(db, "SELECT * FROM %s ORDER BY rowid" % t) for t in tables} == stored,
            "refused removals change nothing, no patient is added")

    p = run(a, "milestones", "remove", "--db", db, "--patient", "case-001", "--kind", "resection",
            "--date", "2016-10-20")
    out = p.stdout.decode()
    h.check(p.returncode == 0 and out.startswith("removed resection 2016-10-20 (all markers) for patient case-001\n"),
            "the 2016 resection removed: %r" % out)
    nodecline = [i for i, (_, rules) in before.items() if rules == ["R_NODECLINE"]][0]
    h.check("alert log: retract alert %d: AFP not declining after resection" % nodecline in out,
            "the failure to fall after it is retracted, and said so")
    after = alerts()
    h.check(after[nodecline][0] == "retracted" and
            all(after[i][0] == before[i][0] for i in before if i != nodecline),
            "only that alert changed state: %r" % after)
    log = json.loads(run(a, "log", "--db", db, "--patient", "case-001", "--format", "json").stdout)
    removal = json.loads(run(a, "milestones", "history", "--db", db, "--patient", "case-001",
                             "--format", "json").stdout)[-1]
    h.check(removal["change"] == "removed" and
            any(e["event"] == "retract" and e["alert_id"] == nodecline and
                e["cause"] == "milestone_change:%d" % removal["id"] for e in log),
            "the retraction is in the alert log, caused by the removal's entry in the milestone log: %r"
            % removal)
    h.check(not any(m["kind"] == "resection" for m in json.loads(
        run(a, "milestones", "list", "--db", db, "--patient", "case-001", "--format", "json").stdout)),
        "and the milestone is gone")

    # Two resections that day, for different markers: the one to remove is named by its markers.
    for markers in ("AFP", "AFP;PIVKA-II"):
        run(a, "milestones", "add", "--db", db, "--patient", "case-001", "--kind", "resection",
            "--date", "2016-10-20", "--markers", markers, "--by", "Dr. Ana Núñez")
    p = run(a, "milestones", "remove", "--db", db, "--patient", "case-001", "--kind", "resection",
            "--date", "2016-10-20")
    h.check(p.returncode == 2 and b"has 2 resection milestones on 2016-10-20, for AFP | AFP;PIVKA-II: "
            b"say which with --markers" in p.stderr, "several match: refused, naming them: %r" % p.stderr)
    p = run(a, "milestones", "remove", "--db", db, "--patient", "case-001", "--kind", "resection",
            "--date", "2016-10-20", "--markers", "pivka-ii;afp")
    h.check(p.returncode == 0 and b"removed resection 2016-10-20 (AFP;PIVKA-II)" in p.stdout,
            "markers given in any order and spelling: %r" % p.stdout)
    left = [m["markers"] for m in json.loads(run(a, "milestones", "list", "--db", db, "--patient", "case-001",
                                                 "--format", "json").stdout) if m["kind"] == "resection"]
    h.check(left == ["AFP"], "the other one stays: %r" % left)

    # The milestone log: every change, where from and by whom, the removed ones as they were.
    login = os.environ.get("SUDO_USER") or pwd.getpwuid(os.geteuid()).pw_name
    history = json.loads(run(a, "milestones", "history", "--db", db, "--patient", "case-001",
                             "--format", "json").stdout)
    imported = [c for c in history if c["source"] == "csv"]
    with open(os.path.join(seed, "milestones.csv")) as f:
        seed_milestones = len(f.read().splitlines()) - 1
    h.check(len(imported) == seed_milestones and all(c["change"] == "added" and c["message_id"] and c["by"] == ""
                                       for c in imported), "the imported milestones, each with its file: %r" % imported)
    h.check([(c["change"], c["kind"], c["markers"], c["by"]) for c in history if c["source"] == "cli"] ==
            [("removed", "resection", "", login), ("added", "resection", "AFP", "Dr. Ana Núñez"),
             ("added", "resection", "AFP;PIVKA-II", "Dr. Ana Núñez"),
             ("removed", "resection", "AFP;PIVKA-II", login)],
            "the CLI's changes in order, by --by or the login (%s): %r" % (login, history[-4:]))
    h.check(history == sorted(history, key=lambda c: (c["at"], c["id"])), "in the order they were made")
    readded = [c["id"] for c in history if c["source"] == "cli" and c["markers"] == "AFP"]
    log = json.loads(run(a, "log", "--db", db, "--patient", "case-001", "--format", "json").stdout)
    h.check(len(readded) == 1 and any(e["cause"] == "milestone_change:%d" % readded[0] for e in log),
            "what an added milestone raises names its entry in the milestone log as the cause")
    table = run(a, "milestones", "history", "--db", db).stdout.decode()
    h.check(table.splitlines()[0].split() == ["id", "at", "patient_id", "change", "kind", "date", "markers", "source",
                                              "message", "by"] and len(table.splitlines()) == len(history) + 2,
            "a table for people: %r" % table)
    h.check(json.loads(run(a, "milestones", "history", "--db", db, "--patient", "nobody",
                           "--format", "json").stdout) == [], "nobody's history is empty")


def senders(a, db):
    """Each sender's recent messages by outcome, as the message log holds them."""
    log = json.loads(run(a, "messages", "--db", db, "--limit", "100000", "--format", "json").stdout)
    p = run(a, "senders", "--db", db, "--format", "json")
    h.check(p.returncode == 0, "senders: exit 0 (%r)" % p.stderr)
    rows = json.loads(p.stdout)
    expected = {}
    for m in log:
        e = expected.setdefault((m["transport"], m["sender"]), {"messages": 0, "rejected": 0, "last": ""})
        e["messages"] += 1
        e["rejected"] += m["outcome"] == "rejected"
        e["last"] = max(e["last"], m["received_at"])
    got = {(r["transport"], r["sender"]): {"messages": r["messages"], "rejected": r["rejected"],
                                           "last": r["last_received_at"]} for r in rows}
    h.check(got == expected and len(rows) > 1, "every sender of the last 7 days with its counts: %r" % rows[:2])
    h.check([r["last_received_at"] for r in rows] == sorted((r["last_received_at"] for r in rows), reverse=True),
            "the latest sender first")
    refused = [r for r in rows if r["rejected"]]
    h.check(refused and all(r["last_error"] for r in refused), "with the latest error of a refusing sender")
    h.check(json.loads(run(a, "senders", "--db", db, "--since", "2099-01-01", "--format", "json").stdout) == [],
            "none since a day to come")
    table = run(a, "senders", "--db", db, "--since", "24h").stdout.decode()
    h.check(table.startswith("messages received since 20") and "last_error" in table, "a table for people")
    minutes = run(a, "senders", "--db", db, "--since", "90m", "--format", "json")
    h.check(minutes.returncode == 0 and isinstance(json.loads(minutes.stdout), list), "a span in minutes too")
    for since in ("yesterday", "0d", "-5h", "7 d", "1e3h", "2026-13-01"):
        p = run(a, "senders", "--db", db, "--since", since)
        h.check(p.returncode == 2 and b"--since: " in p.stderr, "senders --since %s: exit 2 (%r)" % (since, p.stderr))


def log_since(a, db):
    """The alert log since a span back from now, a date or a time; anything else refused."""
    def log(*since):
        p = run(a, "log", "--db", db, "--limit", "100000", "--format", "json", *since)
        h.check(p.returncode == 0, "log %r: exit 0 (%r)" % (since, p.stderr))
        return json.loads(p.stdout)
    everything = log()
    h.check(len(everything) > 3 and log("--since", "7d") == everything,
            "log --since 7d: the week's entries, here all of them (%d)" % len(everything))
    h.check(log("--since", "2099-01-01") == [], "none since a day to come")
    # A time with an offset is that instant: the newest entry's second, written at +01:00.
    newest = datetime.datetime.strptime(everything[0]["at"], "%Y-%m-%dT%H:%M:%SZ")
    plus_one = datetime.timezone(datetime.timedelta(hours=1))
    at = newest.replace(tzinfo=datetime.timezone.utc).astimezone(plus_one)
    same = log("--since", at.isoformat())
    h.check(same and all(e["at"] == everything[0]["at"] for e in same) and
            log("--since", (at + datetime.timedelta(seconds=1)).isoformat()) == [],
            "--since %s: the entries of that second, none after it" % at.isoformat())
    for since in ("yesterday", "0d", "7 d", "2026-13-01", "2026-12-01T25:00:00Z"):
        p = run(a, "log", "--db", db, "--since", since)
        h.check(p.returncode == 2 and b"--since: " in p.stderr and len(p.stderr.splitlines()) == 1,
                "log --since %r: exit 2, one line (%r)" % (since, p.stderr))


def messages_prune(a, db):
    """The raw bytes of old messages removed on request; the rows, results and alerts stay."""
    tomorrow = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)).strftime("%Y-%m-%d")
    rejected = [m["id"] for m in json.loads(run(a, "messages", "--db", db, "--outcome", "rejected",
                                                "--format", "json").stdout)]
    accepted = json.loads(run(a, "messages", "--db", db, "--outcome", "accepted", "--limit", "1",
                              "--format", "json").stdout)[0]["id"]
    h.check(rejected, "the log holds rejected messages to prune")
    tables = ("results", "alerts", "alert_events", "milestones", "patients")
    before = {t: h.query(db, "SELECT * FROM %s ORDER BY rowid" % t) for t in tables}
    log_before = h.query(db, "SELECT id, outcome, error, control_id FROM messages ORDER BY id")
    p = run(a, "messages", "prune", "--db", db, "--before", tomorrow, "--outcome", "rejected", "--dry-run")
    h.check(p.returncode == 0 and p.stdout.decode().startswith(
        "would remove the raw bytes of %d message(s) received before %s with outcome rejected ("
        % (len(rejected), tomorrow)), "a dry run counts them: %r" % p.stdout)
    h.check(b"MSH|" in run(a, "messages", "show", str(rejected[0]), "--raw", "--db", db).stdout,
            "and removes nothing")
    p = run(a, "messages", "prune", "--db", db, "--before", "2000-01-01", "--outcome", "rejected")
    h.check(p.returncode == 0 and b"raw bytes of 0 message(s)" in p.stdout, "none received before 2000")
    p = run(a, "messages", "prune", "--db", db, "--before", tomorrow, "--outcome", "rejected")
    h.check(p.returncode == 0 and b"removed the raw bytes of %d message(s)" % len(rejected) in p.stdout,
            "the rejected messages' bytes removed: %r" % p.stdout)
    p = run(a, "messages", "show", str(rejected[0]), "--raw", "--db", db)
    h.check(p.returncode == 2 and b"were removed by markerwatch messages prune at" in p.stderr,
            "show --raw says when they were removed: %r" % p.stderr)
    h.check(b"raw bytes:   removed by markerwatch messages prune" in
            run(a, "messages", "show", str(rejected[0]), "--db", db).stdout, "and so does show")
    h.check(b"MSH|" in run(a, "messages", "show", str(accepted), "--raw", "--db", db).stdout,
            "an accepted message keeps its bytes")
    h.check({t: h.query(db, "SELECT * FROM %s ORDER BY rowid" % t) for t in tables} == before and
            h.query(db, "SELECT id, outcome, error, control_id FROM messages ORDER BY id") == log_before,
            "results, alerts, milestones, patients and the message log's rows are unchanged")
    # As systemd/markerwatch-prune.service runs it: the date counted back from today (UTC).
    today = datetime.datetime.now(datetime.timezone.utc).date()
    for days in (1, 90, 36500):
        p = run(a, "messages", "prune", "--db", db, "--older-than", str(days), "--outcome",
                "accepted", "--dry-run")
        # (or a day later, when midnight UTC passes in between)
        dates = [(today - datetime.timedelta(days=days - d)).isoformat() for d in (0, 1)]
        h.check(p.returncode == 0 and any(
            p.stdout.decode().startswith("would remove the raw bytes of 0 message(s) received before "
                                         "%s with outcome accepted" % date) for date in dates),
                "--older-than %d: before %s (what came today is newer): %r" % (days, dates[0], p.stdout))
    for argv, says in [(["--before", "2016-02-30"], b"not a date"), (["--before", "yesterday"], b"not a date"),
                       (["--before", tomorrow, "--outcome", "duplicate"], b"duplicate not in"),
                       ([], b"give either --before YYYY-MM-DD or --older-than DAYS"),
                       (["--older-than", "0"], b"not in range"),
                       (["--older-than", "ninety"], b"--older-than"),
                       (["--before", tomorrow, "--older-than", "5"], b"excludes")]:
        p = run(a, "messages", "prune", "--db", db, *argv)
        h.check(p.returncode == 2 and says in p.stderr, "prune %s: exit 2 (%r)" % (argv, p.stderr))


if __name__ == "__main__":
    h.run(main)
