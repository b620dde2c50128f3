"""The file system refuses writes under the running daemon and the CLI: a full disk, or one
remounted read-only after an error. Simulated by lowering the processes' file size limit to 0
(RLIMIT_FSIZE: every write to a file then fails; markerwatchd and markerwatch ignore SIGXFSZ, so
the write fails as on a full disk instead of the signal killing them). While it lasts, no MLLP
message is acknowledged (the connection closes without an ACK, so the interface engine keeps the
message and sends it again), HTTP writes answer 503, /readyz says why, reads still answer, a CLI
import fails with one line that names its file, and nothing already stored changes. Once writes
fit again, the same messages are each stored once, and the seed case gives its three alerts.
Started on such a disk, the daemon exits before it is ready and names the database. And a disk
whose syncs fail (a preloaded fdatasync that returns EIO) under the daemon, which acknowledges
nothing it could not sync, and under an import, which says whether its file is stored. Before
those, `markerwatch backup` of the running daemon's database while messages arrive."""
import csv
import datetime
import json
import os
import re
import resource
import socket
import sqlite3
import subprocess
import threading
import time

import harness as h
from alerts_e2e import EXPECTED, key
from http_e2e import metric_samples, problem, request, token_lines
from seed_e2e import CONFIG, import_seed, stored, to_oru


def everything(db):
    """Every row of every table, in rowid order."""
    tables = [t for (t,) in h.query(db, "SELECT name FROM sqlite_master WHERE type = 'table' "
                                        "ORDER BY name")]
    return {t: h.query(db, 'SELECT * FROM "%s" ORDER BY rowid' % t) for t in tables}


def refused_without_ack(port, message):
    """Sends one framed message on a new connection; True when the daemon closed the connection
    (or reset it) without answering."""
    with h.connect(port) as s:
        s.sendall(h.frame(message))
        try:
            return h.read_frame(s, timeout=30) == b""
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False


def no_writes(limit=0):
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    if "TSAN_OPTIONS" in os.environ:
        # ThreadSanitizer's runtime writes TMPDIR/tsan.rodata.PID as the program starts, a write
        # the limit refuses (SIGXFSZ before main); it does without the file when it cannot make it.
        os.putenv("TMPDIR", "/nonexistent/markerwatch-tsan")


def syncs_fail_while(a, log_flag="", database_flag=""):
    """The environment of a process whose syncs of the write-ahead log fail while `log_flag`
    exists, and syncs of the database file while `database_flag` exists
    (tests/e2e/failing_sync.cpp)."""
    # An ASan build's runtime must otherwise be the first library loaded.
    return dict(os.environ, LD_PRELOAD=a.failing_sync, MW_TEST_FAIL_LOG_SYNC=log_flag,
                MW_TEST_FAIL_DATABASE_SYNC=database_flag,
                ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0")


def readiness(port):
    r, data = request(port, "GET", "/readyz")
    return r.status, json.loads(data)


def retry_after(r):
    """A 503 tells the client when to try again (the server's default, 5 seconds)."""
    h.check(r.getheader("Retry-After") == "5",
            "%d with Retry-After: 5 (got %r)" % (r.status, r.getheader("Retry-After")))


def seed_messages(a):
    """The seed case's results as ORU^R01 messages in file order, and the ones a failure is to
    refuse: the result that fires the first alert, the one before it and the one after (a refused
    transaction must not leave half an evaluation behind)."""
    rows = list(csv.DictReader(open(os.path.join(a.shared, "seed", "results.csv"))))
    fires = [r["collected_at"] for r in rows].index(EXPECTED[0][4])
    return [to_oru(i, r) for i, r in enumerate(rows)], range(fires - 1, fires + 2)


def send_acknowledged(d, tmp, name, messages, what):
    """Sends the messages on one connection (python3-hl7's mllp_send): each is answered AA."""
    path = os.path.join(tmp, name + ".mllp")
    with open(path, "wb") as f:
        f.write(b"".join(h.frame(m) for m in messages))
    acks = [c for c, _, _ in h.mllp_send(d.port, path)]
    h.check(acks == ["AA"] * len(messages), "%s: %d messages acknowledged" % (what, len(messages)))


def seed_until_refused(a, tmp, d, config, messages, refused):
    """The seed case's milestones and its messages before the refused ones, stored; what the
    database then holds."""
    seed = os.path.join(a.shared, "seed")
    h.cli(a.bin, "import", "--config", config, "--db", d.db, os.path.join(seed, "milestones.csv"))
    send_acknowledged(d, tmp, "first", messages[:refused.start], "before the failure")
    return everything(d.db)


def seed_case_stored_once(a, db, config, reference, messages):
    """After the failure passed and every message was sent again: what a healthy disk holds."""
    h.check(stored(a, db, config) == stored(a, reference, config),
            "the stored results equal the seed case imported on a healthy disk")
    counts = h.query(db, "SELECT control_id, count(*) FROM messages WHERE transport = 'mllp' "
                         "GROUP BY control_id")
    h.check(sorted(counts) == [("SEED-%03d" % i, 1) for i in range(messages)],
            "each message is in the message log once")
    alerts = json.loads(h.cli(a.bin, "alerts", "--config", config, "--db", db, "--state", "all",
                              "--patient", "case-001", "--format", "json").stdout)
    h.check(sorted(key(x) for x in alerts if x["state"] != "retracted") == sorted(EXPECTED),
            "exactly the seed case's three alerts")
    new_events = h.query(db, "SELECT count(*) FROM alert_events e JOIN patients p ON "
                             "p.id = e.patient_id WHERE p.identifier = 'case-001' AND "
                             "e.event = 'new'")[0][0]
    h.check(new_events == 3, "three NEW events in the alert log (%d)" % new_events)
    h.check(h.query(db, "PRAGMA integrity_check") == [("ok",)], "the database is intact")


def late_results(tmp):
    """A CSV file of 200 results for 7 patients named late-N, none of them in the seed case."""
    path = os.path.join(tmp, "later.csv")
    with open(path, "w") as f:
        f.write("patient_id,marker,collected_at,value,unit\n")
        f.writelines("late-%d,AFP,2020-01-%02d,%d,ng/mL\n" % (i % 7, i % 28 + 1, i + 3)
                     for i in range(200))
    return path


def daemon_and_cli_refused(a, tmp):
    """The daemon under the seed case's messages, its HTTP API and a CLI import beside it."""
    config, reference, _ = import_seed(a, tmp, "reference.db")
    messages, refused = seed_messages(a)

    ingest_token, ingest_cfg = token_lines(a, "lab-feed", "ingest")
    read_token, read_cfg = token_lines(a, "viewer", "read")
    d = h.Daemon(a.bin, tmp, CONFIG + ingest_cfg + "\n" + read_cfg + "\n").start()
    pid, port = d.proc.pid, d.http_port
    later = late_results(tmp)
    before = seed_until_refused(a, tmp, d, config, messages, refused)

    _, hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (0, hard))
    try:
        for i in refused:
            h.check(refused_without_ack(d.port, messages[i]),
                    "message %d: the connection closes without an ACK" % i)
        h.check(h.wait_until(lambda: d.log_count("event=message_not_stored") >= len(refused)
                             and d.log_count("action=close_without_ack") >= len(refused)),
                "each refusal is logged with what was done")
        h.check(d.proc.poll() is None, "the daemon is still running")

        status, body = readiness(port)
        h.check(status == 503 and "the latest write failed" in body.get("detail", ""),
                "/readyz: 503 with the reason (%r)" % body)
        obs = {"resourceType": "Observation", "status": "final",
               "code": {"coding": [{"system": "http://loinc.org", "code": "1834-1"}]},
               "subject": {"identifier": {"value": "fhir-1"}},
               "effectiveDateTime": "2020-01-02", "valueQuantity": {"value": 9, "unit": "ng/mL"}}
        r, data = request(port, "POST", "/fhir/Observation", ingest_token, json.dumps(obs).encode(),
                          {"Content-Type": "application/fhir+json"})
        outcome = json.loads(data)
        h.check(r.status == 503 and outcome["resourceType"] == "OperationOutcome"
                and "not stored" in json.dumps(outcome),
                "FHIR: 503 OperationOutcome, not stored (%d %r)" % (r.status, data[:200]))
        retry_after(r)
        r, data = request(port, "POST", "/api/v1/results", ingest_token,
                          json.dumps([{"patient_id": "api-1", "marker": "AFP",
                                       "collected_at": "2020-01-03", "value": "4",
                                       "unit": "ng/mL"}]).encode(),
                          {"Content-Type": "application/json"})
        h.check("not stored" in problem(r, data, 503)["detail"], "JSON API: 503, not stored")
        retry_after(r)
        r, data = request(port, "GET", "/api/v1/alerts?state=all", read_token)
        h.check(r.status == 200 and len(json.loads(data)["alerts"]) == len(before["alerts"]),
                "reads still answer (%d)" % r.status)
        h.check([request(port, "GET", path)[0].status for path in ("/healthz", "/")] == [200, 200],
                "/healthz and the review page still answer")

        p = h.cli(a.bin, "import", "--config", config, "--db", d.db, later, check_rc=False,
                  preexec_fn=no_writes)
        err = p.stderr.decode().strip()
        h.check(p.returncode == 2 and "\n" not in err and err.startswith("markerwatch: ")
                and later + ": " in err and "nothing of this file was stored" in err,
                "the CLI import: exit 2, one line naming the file (%d %r)" % (p.returncode, err))
        h.check(everything(d.db) == before, "nothing stored before changed, nothing was added")
    finally:
        if d.proc.poll() is None:
            resource.prlimit(pid, resource.RLIMIT_FSIZE, (hard, hard))

    send_acknowledged(d, tmp, "rest", messages[refused.start:],
                      "once writes fit again, the refused messages and the rest")
    h.check(readiness(port)[0] == 200, "/readyz: ready again after a write succeeded")
    out = h.cli(a.bin, "import", "--config", config, "--db", d.db, later).stdout
    h.check(b"200 stored" in out, "the CLI import stores the file once writes fit (%r)" % out)
    h.check(d.stop() == 0, "clean stop")
    seed_case_stored_once(a, d.db, config, reference, len(messages))

    # Started on a disk that refuses writes (after a reboot, say): it does not get ready, and says
    # which database it could not open.
    before = everything(d.db)
    p = subprocess.run([os.path.join(a.bin, "markerwatchd"), "--config", d.config],
                       capture_output=True, timeout=60, preexec_fn=no_writes)
    out = p.stdout.decode()
    h.check(p.returncode == 1 and "READY" not in out
            and "event=fatal error=\"cannot open database %s: " % d.db in out,
            "started on a disk that refuses writes: exit 1, the database named (%d %r)"
            % (p.returncode, out[-300:]))
    h.check(everything(d.db) == before, "and nothing stored changed")


def import_stopped_midway(a, tmp):
    """A large CSV import whose file system fills after its first chunk of whole patients has
    committed: the command says that part of the file is stored, the first chunk stays, and
    importing the file again stores the rest. A read transaction held open keeps the log from
    being checkpointed and reused, so the log grows by what each chunk writes, the same in the
    measuring run and the real one."""
    chunk = 50000  # Pipeline::kCommitEvery: a commit after each 50,000 rows (of whole patients)
    path = os.path.join(tmp, "large.csv")
    with open(path, "w") as f:
        f.write("patient_id,marker,collected_at,value,unit\n")
        # 25,000 patients of 10 rows: every chunk is exactly 5,000 patients.
        for p in range(25000):
            f.writelines("big-%05d,AFP,2019-%02d-%02d,5.%d,ng/mL\n" % (p, k + 1, p % 28 + 1, p % 10)
                         for k in range(10))

    def import_under(db, limit):
        h.cli(a.bin, "import", "--db", db, os.path.join(a.shared, "seed", "milestones.csv"))
        reader = sqlite3.connect(db, isolation_level=None)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM results").fetchall()
        try:
            p = h.cli(a.bin, "import", "--db", db, path, check_rc=False,
                      preexec_fn=(lambda: no_writes(limit)) if limit else None)
            return p, os.path.getsize(db + "-wal")
        finally:
            reader.close()

    measured, wal = import_under(os.path.join(tmp, "measure.db"), None)
    h.check(measured.returncode == 0, "the measuring import stores the file (%r)" % measured.stderr)
    # The first chunk writes a fifth of the rows and the file's copy in the message log: half of
    # the whole file's log leaves room for it, and not for all five.
    db = os.path.join(tmp, "full.db")
    p, _ = import_under(db, wal // 2)
    err = p.stderr.decode().strip()
    h.check(p.returncode == 2 and "\n" not in err and path + ": " in err
            and "part of this file was stored: import it again" in err,
            "stopped midway: exit 2, one line that says part of the file is stored (%r)" % err)
    kept = h.query(db, "SELECT count(*) FROM results")[0][0]
    h.check(0 < kept < 250000 and kept % chunk == 0,
            "the chunks committed before the failure stay stored (%d rows)" % kept)
    logged = "SELECT outcome, error FROM messages WHERE transport = 'file' AND peer = ? ORDER BY id"
    unfinished = h.query(db, logged, (path,))
    h.check(len(unfinished) == 1 and unfinished[0][0] == "partial"
            and unfinished[0][1].startswith("the import stopped before the end of the file"),
            "the message log holds the file as partial, and why (%r)" % unfinished)
    again = h.cli(a.bin, "import", "--db", db, path).stdout
    report = "results: %d stored, %d unchanged, 0 rejected" % (250000 - kept, kept)
    h.check(report.encode() in again,
            "imported again, the rest is stored (%r)" % again)
    h.check(h.query(db, "SELECT count(*) FROM results")[0][0] == 250000, "all 250,000 rows stored")
    h.check([o for o, _ in h.query(db, logged, (path,))] == ["partial", "accepted"],
            "and the second import is in the log as accepted")


def import_not_synced(a, tmp):
    """Imports on a disk whose syncs fail (fdatasync of the write-ahead log returns EIO, as on a
    disk that reports lost writes). When SQLite itself syncs, on the first write to a new log,
    nothing of the file is stored. When only the import's own sync at the end of the file fails,
    the rows are committed but might not survive a power loss: the command says so. Either way
    one line, exit 2, and importing the file again completes it without storing anything twice."""
    seed = os.path.join(a.shared, "seed")
    db = os.path.join(tmp, "unsynced.db")
    milestones, results = (os.path.join(seed, f) for f in ("milestones.csv", "results.csv"))
    flag = os.path.join(tmp, "syncs-fail")
    open(flag, "w").close()
    failing = syncs_fail_while(a, flag)
    prefix = ("markerwatch: database error: %s: cannot sync the write-ahead log of %s: "
              % (results, db))

    def import_failing(says):
        p = h.cli(a.bin, "import", "--db", db, results, check_rc=False, env=failing)
        err = p.stderr.decode().strip()
        h.check(p.returncode == 2 and "\n" not in err and err.endswith(says),
                "a failed sync: exit 2, one line that ends %r (%d %r)" % (says, p.returncode, err))
        return err

    def stored():
        return h.query(db, "SELECT count(*) FROM results")[0][0]

    h.cli(a.bin, "import", "--db", db, milestones)
    before = everything(db)
    err = import_failing("nothing of this file was stored")
    h.check(err.startswith("markerwatch: database error: %s: " % results)
            and "disk I/O error" in err, "the line names the file and the error (%r)" % err)
    h.check(everything(db) == before, "a new log's sync fails: nothing changed")

    # A reader that reads the database file keeps checkpoints from copying the log back, so the
    # log another import writes stays, and the next import appends to it without starting a new
    # one (which SQLite would sync): its rows commit, and its own sync of the file is what fails.
    reader = sqlite3.connect(db, isolation_level=None)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM results").fetchall()
        h.cli(a.bin, "import", "--db", db, milestones)  # unchanged, and logged as received
        err = import_failing("this file was stored but not synced to disk: import it again to "
                             "be sure it is kept (rows already stored stay unchanged)")
        h.check(err.startswith(prefix), "the line names the file and the database (%r)" % err)
    finally:
        reader.close()
    kept = stored()
    h.check(kept > 0, "the file's rows are committed (%d)" % kept)
    # Its last chunk marked the file imported: the same file again is one unchanged file, synced.
    again = h.cli(a.bin, "import", "--db", db, results).stdout
    h.check(b"results: 0 stored, 1 unchanged, 0 rejected" in again and stored() == kept,
            "imported again, nothing is stored twice (%r)" % again)
    h.check([o for o, in h.query(db, "SELECT outcome FROM messages WHERE peer = ? ORDER BY id",
                                 (results,))] == ["accepted", "duplicate"],
            "the message log holds the file once accepted, then as a duplicate")
    h.check(h.query(db, "PRAGMA integrity_check") == [("ok",)], "the database is intact")


def daemon_syncs_fail(a, tmp):
    """The disk reports lost writes under the running daemon, then recovers: fdatasync of the
    write-ahead log fails while a flag file exists. A message whose commit cannot be synced is not
    acknowledged (its connection closes), nothing of it is visible, and /readyz says why; once
    syncs succeed, the same messages are each stored once and the seed case gives its alerts."""
    config, reference, _ = import_seed(a, tmp, "reference.db")
    messages, refused = seed_messages(a)
    flag = os.path.join(tmp, "syncs-fail")
    d = h.Daemon(a.bin, tmp, CONFIG).start(env=syncs_fail_while(a, flag))
    before = seed_until_refused(a, tmp, d, config, messages, refused)

    open(flag, "w").close()
    try:
        for i in refused:
            h.check(refused_without_ack(d.port, messages[i]),
                    "message %d: the connection closes without an ACK" % i)
        h.check(h.wait_until(lambda: d.log_count("event=message_not_stored") >= len(refused)),
                "each refusal is logged")
        status, body = readiness(d.http_port)
        h.check(status == 503 and "the latest write failed" in body.get("detail", ""),
                "/readyz: 503 with the reason (%r)" % body)
        h.check(everything(d.db) == before, "nothing of the refused messages is visible")
    finally:
        os.remove(flag)

    send_acknowledged(d, tmp, "rest", messages[refused.start:],
                      "once syncs succeed, the refused messages and the rest")
    h.check(readiness(d.http_port)[0] == 200, "/readyz: ready again")
    h.check(d.stop() == 0, "clean stop")
    seed_case_stored_once(a, d.db, config, reference, len(messages))


def database_syncs_fail(a, tmp):
    """The disk reports lost writes when the database file is synced, which only checkpoints do
    (after copying the write-ahead log back into it). Each commit synced the log, so every
    message is acknowledged and every import stored; the checkpoint thread warns once for the
    run of failures. A stop keeps the log that could not be copied back, and a restart on a
    healthy disk finds everything in it, once, and copies it back."""
    config, reference, _ = import_seed(a, tmp, "reference.db")
    messages, _ = seed_messages(a)
    flag = os.path.join(tmp, "database-syncs-fail")
    failing = syncs_fail_while(a, database_flag=flag)
    read_token, read_cfg = token_lines(a, "monitoring", "read")
    d = h.Daemon(a.bin, tmp, CONFIG + read_cfg + "\n").start(env=failing)
    seed = os.path.join(a.shared, "seed")
    h.cli(a.bin, "import", "--config", config, "--db", d.db, os.path.join(seed, "milestones.csv"))

    open(flag, "w").close()
    send_acknowledged(d, tmp, "all", messages, "while the database file's syncs fail")
    h.check(h.wait_until(lambda: d.log_count("event=checkpoint_failed") == 1),
            "the checkpoint thread warns (event=checkpoint_failed)")
    time.sleep(1)  # more checkpoints (backing off: 200, 400 ms...), each of which fails
    h.check(d.log_count("event=checkpoint_failed") == 1
            and d.log_count("event=checkpoint_recovered") == 0,
            "once for the run of failures, and no recovery while they go on")
    h.check(readiness(d.http_port)[0] == 200, "/readyz: ready, as every write is in the log")
    r, data = request(d.http_port, "GET", "/metrics", read_token)
    failed = metric_samples(data)
    h.check(r.status == 200
            and int(failed['markerwatch_checkpoint_failures_total{checkpoint="background"}']) >= 2
            and failed['markerwatch_checkpoint_failures_total{checkpoint="writer"}'] == "0",
            "/metrics counts the checkpoint thread's failed tries (%r)" % failed)
    later = late_results(tmp)
    out = h.cli(a.bin, "import", "--config", config, "--db", d.db, later, env=failing).stdout
    h.check(b"200 stored" in out, "an import stores its file (%r)" % out)
    h.check(d.stop() == 0, "clean stop")
    h.check(os.path.getsize(d.db + "-wal") > 0, "the log that could not be copied back is kept")

    os.remove(flag)
    d.start()
    h.check(readiness(d.http_port)[0] == 200, "restarted on a healthy disk: ready")
    h.check(h.query(d.db, "SELECT count(*) FROM results r JOIN patients p ON p.id = r.patient_id "
                          "WHERE p.identifier LIKE 'late-%'")[0][0] == 200,
            "the import's 200 results are there")
    h.check(d.stop() == 0, "clean stop")
    h.check(not os.path.exists(d.db + "-wal"), "the log is copied back and removed at the stop")
    seed_case_stored_once(a, d.db, config, reference, len(messages))


def numbered_results(first, count):
    """ORU^R01 messages with one AFP result each, for 20 patients, each on a day of its own."""
    return [h.oru("BK%d" % i, "BK-P%d" % (i % 20), [h.afp_obx(1, "%d.5" % i)],
                  collected=(datetime.date(2010, 1, 1) + datetime.timedelta(days=i))
                  .strftime("%Y%m%d080000"))
            for i in range(first, first + count)]


def consistent_copy(copy):
    """The copy holds whole messages: every accepted one with its result, no result without it."""
    accepted = h.query(copy, "SELECT count(*) FROM messages WHERE outcome = 'accepted'")[0][0]
    results = h.query(copy, "SELECT count(*) FROM results")[0][0]
    h.check(accepted == results, "%s: %d accepted messages and %d results" % (
        os.path.basename(copy), accepted, results))
    return results


def backup_while_receiving(a, tmp):
    """`markerwatch backup` of the running daemon's database: a copy of one moment, while
    messages keep arriving and are acknowledged; an existing file is never overwritten."""
    d = h.Daemon(a.bin, tmp).start()
    try:
        send_acknowledged(d, tmp, "first", numbered_results(0, 200), "before the backup")
        copy = os.path.join(tmp, "copy.db")
        p = h.cli(a.bin, "backup", "--db", d.db, copy)
        h.check(p.stdout.decode().startswith("backup written: %s (" % copy) and
                "200 results" in p.stdout.decode(), "backup says what it wrote: %r" % p.stdout)
        h.check(os.stat(copy).st_mode & 0o777 == 0o600, "the copy is readable by its owner only")
        h.check(consistent_copy(copy) == 200, "the copy holds the 200 results stored before it")
        h.check(h.results_json(a.bin, copy, "BK-P3") == h.results_json(a.bin, d.db, "BK-P3"),
                "a patient's results read from the copy as from the database")

        # Backups while a second connection's messages are being stored.
        failures = []

        def second():
            try:
                send_acknowledged(d, tmp, "second", numbered_results(200, 600), "during backups")
            except Exception as e:  # noqa: BLE001 (reported by the test's own thread below)
                failures.append(e)

        sender = threading.Thread(target=second)
        sender.start()
        copies = []
        while sender.is_alive() or not copies:
            copies.append(os.path.join(tmp, "during-%d.db" % len(copies)))
            h.cli(a.bin, "backup", "--db", d.db, copies[-1])
        sender.join()
        if failures:
            raise failures[0]
        counts = [consistent_copy(c) for c in copies]
        print("  results in the copies taken during the second connection's messages:", counts)
        h.check(counts == sorted(counts) and 200 <= counts[0] and counts[-1] <= 800,
                "each later copy holds at least what the one before held: %s" % counts)

        before = open(copy, "rb").read()
        p = h.cli(a.bin, "backup", "--db", d.db, copy, check_rc=False)
        h.check(p.returncode == 2 and b"exists: a backup goes to a new file" in p.stderr,
                "an existing file is refused: %r" % p.stderr)
        h.check(open(copy, "rb").read() == before, "and left as it was")
        p = h.cli(a.bin, "backup", "--db", os.path.join(tmp, "none.db"),
                  os.path.join(tmp, "x.db"), check_rc=False)
        h.check(p.returncode == 2 and b"no database at" in p.stderr and
                not os.path.exists(os.path.join(tmp, "x.db")), "a missing database: exit 2")
        h.check(h.query(d.db, "SELECT count(*) FROM results")[0][0] == 800,
                "the daemon stored every message meanwhile")

        # As systemd/markerwatch-backup.service runs it: into a folder, the newest kept.
        folder = os.path.join(tmp, "backups")
        os.mkdir(folder)
        outputs = [h.cli(a.bin, "backup", "--db", d.db, "--into", folder, "--keep", "2").stdout.decode()
                   for _ in range(3)]
        written = [o.split()[2] for o in outputs]
        h.check(sorted(os.listdir(folder)) == sorted(os.path.basename(w) for w in written[1:]),
                "the two newest backups kept: %s" % sorted(os.listdir(folder)))
        h.check("old backup removed: %s" % written[0] in outputs[2], "the oldest removed: %r" % outputs[2])
        h.check(all(re.fullmatch(r"markerwatch-\d{8}T\d{6}\.\d{3}Z\.db", os.path.basename(w))
                    for w in written), "named after their time: %s" % written)
        h.check(consistent_copy(written[2]) == 800, "the newest holds every result")
        for args, said in ((["--keep", "2", os.path.join(tmp, "k.db")], b"--keep requires --into"),
                           ([], b"give either the new file or --into FOLDER"),
                           ([os.path.join(tmp, "k.db"), "--into", folder], b"excludes")):
            p = h.cli(a.bin, "backup", "--db", d.db, *args, check_rc=False)
            h.check(p.returncode == 2 and said in p.stderr and
                    not os.path.exists(os.path.join(tmp, "k.db")),
                    "backup %s: exit 2 saying %r: %r" % (args, said, p.stderr))
    finally:
        h.check(d.stop() == 0, "clean stop")


def main(a, tmp):
    h.run_each(a, tmp, (backup_while_receiving, daemon_and_cli_refused, daemon_syncs_fail,
                        database_syncs_fail, import_stopped_midway, import_not_synced))


if __name__ == "__main__":
    h.run(main)
