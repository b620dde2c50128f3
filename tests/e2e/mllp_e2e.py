"""markerwatchd over MLLP, driven by a client nobody here wrote (python3-hl7's mllp_send) and by
raw sockets for the framing edge cases."""
import os
import re
import resource
import socket
import sqlite3
import subprocess
import threading
import time

import harness as h

# MSA-1 expected for each public sample (see tests/unit/hl7/samples_test.cpp for the mapping).
SAMPLE_ACKS = {
    "01": "AA", "02": "AA", "03": "AE", "04": "AE", "05": "AA", "06": "AE", "07": "AA", "08": "AA",
    "09": "AE", "10": "AE", "11": "AA", "12": "AA", "13": "AE", "14": "AA", "15": "AA",
}


def samples_over_mllp(a, tmp):
    extra = open(os.path.join(a.source, "tests/fixtures/toml/samples.toml")).read()
    d = h.Daemon(a.bin, tmp, extra).start()
    try:
        sample_dir = os.path.join(a.shared, "samples/hl7")
        for name in sorted(os.listdir(sample_dir)):
            if not name.endswith(".hl7"):
                continue
            raw = open(os.path.join(sample_dir, name), "rb").read()
            path = os.path.join(tmp, name + ".mllp")
            with open(path, "wb") as f:
                f.write(h.frame(raw))
            acks = h.mllp_send(d.port, path)
            h.check(len(acks) == 1, "%s: one ACK" % name)
            code, control, text = acks[0]
            h.check(code == SAMPLE_ACKS[name[:2]], "%s: MSA-1 %s (got %s)" % (name, SAMPLE_ACKS[name[:2]], code))
            h.check(control != "", "%s: MSA-2 echoes MSH-10 (%s)" % (name, control))
            if code != "AA":
                h.check("\rERR|" in text, "%s: AE/AR carries an ERR segment" % name)
        # 07 then 08: the correction is the effective value.
        rows = h.results_json(a.bin, d.db, "9817566735", "LEAD", config=d.config)
        current = [r for r in rows if r["effective"]]
        h.check(len(current) == 1 and current[0]["value"] == 25 and current[0]["status"] == "corrected",
                "sample 08 corrects sample 07 over MLLP")
        messages = h.query(d.db, "SELECT count(*) FROM messages WHERE raw IS NOT NULL")[0][0]
        h.check(messages == 15, "every sample is kept raw in the message log (%d)" % messages)
        # Operators find the service by its name (pgrep, pkill, top): the main thread keeps it;
        # the others say what they do.
        comm = open("/proc/%d/comm" % d.proc.pid).read().strip()
        h.check(comm == "markerwatchd", "the process is known as markerwatchd (got %r)" % comm)
        threads = sorted(open("/proc/%d/task/%s/comm" % (d.proc.pid, t)).read().strip()
                         for t in os.listdir("/proc/%d/task" % d.proc.pid))
        for name in ("mw-io", "mw-writer", "mw-sender", "mw-checkpoint"):
            h.check(name in threads, "a thread is named %s (threads: %s)" % (name, threads))
    finally:
        h.check(d.stop() == 0, "SIGTERM: markerwatchd exits 0")


def afp_batches(a, tmp):
    d = h.Daemon(a.bin, tmp, '[ingest]\ndefault_timezone = "UTC"\n').start()
    try:
        msgs = [h.oru("B%d" % i, "p-%d" % (i % 3), [h.afp_obx(1, str(10 + i)), h.afp_obx(2, "<1.0", value_type="ST", code="AFPX^AFP^L^1834-1^AFP^LN")], collected="201612%02d0830" % (i + 1)) for i in range(6)]
        path = os.path.join(tmp, "batch.mllp")
        with open(path, "wb") as f:
            f.write(b"".join(h.frame(m) for m in msgs))
        acks = h.mllp_send(d.port, path)
        h.check([c for c, _, _ in acks] == ["AA"] * 6, "six messages on one connection: six AA")
        h.check([ctl for _, ctl, _ in acks] == ["B%d" % i for i in range(6)], "ACKs in order, MSA-2 = MSH-10")
        h.check(h.query(d.db, "SELECT count(*) FROM results")[0][0] == 12, "12 results stored")
        acks = h.mllp_send(d.port, path)
        h.check([c for c, _, _ in acks] == ["AA"] * 6, "re-sent messages are answered AA")
        h.check(h.query(d.db, "SELECT count(*) FROM results")[0][0] == 12, "and store nothing twice")
        h.check(h.query(d.db, "SELECT count(*) FROM messages WHERE outcome = 'duplicate'")[0][0] == 6,
                "duplicates are logged as such")
        rows = h.results_json(a.bin, d.db, "p-0", "AFP")
        h.check(any(r["comparator"] == "<" and r["value"] == 1.0 for r in rows), "censored ST value kept as <1.0")

        # Garbage before the start byte, and one message split over many writes.
        with h.connect(d.port) as s:
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            data = h.frame(h.oru("SPLIT", "p-9", [h.afp_obx(1, "42")]))
            for i in range(0, len(data), 7):
                s.sendall(data[i:i + 7])
                time.sleep(0.002)
            code, ctl, _ = h.parse_ack(h.read_frame(s))
        h.check((code, ctl) == ("AA", "SPLIT"), "garbage skipped; a message over many writes is ACKed")
        h.check("event=garbage_skipped" in d.log_text(), "garbage is logged")
        code, _, _ = h.exchange(d.port, h.oru("SECRET", "p-9", [h.afp_obx(1, "98765.4321", unit="furlongs")]))
        h.check(code == "AE", "unknown unit answered AE")
        h.check("furlongs" not in d.log_text() and "98765.4321" not in d.log_text(),
                "values quoted in the reason stay out of the service log")

        # A sender that pipelines 300 messages without waiting: paused and resumed, all answered
        # in order.
        with h.connect(d.port) as s:
            s.sendall(b"".join(h.frame(h.oru("PIPE%03d" % i, "p-7", [h.afp_obx(1, str(i + 1))],
                                             collected="2017%02d%02d0900" % (i // 28 % 12 + 1, i % 28 + 1)))
                               for i in range(300)))
            got = h.AckReader(s).read(300)
        h.check([(c, ctl) for c, ctl, _ in got] == [("AA", "PIPE%03d" % i) for i in range(300)],
                "300 pipelined messages: 300 AA in order")

        # Hostile content gets an AE, never a crash, and changes nothing stored.
        before = h.query(d.db, "SELECT count(*) FROM results")[0][0]
        for bad in [b"", b"\x00\x01\x02\xff", b"MSH|^~\\&|A|B|||2016||ORU^R01|H1|P|2.5\rPID|1||X\rOBX|1|NM|1834-1^AFP^LN||'; DROP TABLE results;--|ng/mL|||||F\r",
                    "MSH|^~\\&|A|B|||2016||ORU^R01|H2|P|2.5\rPID|1||ü\xff".encode("latin-1"),
                    b"MSH|^~\\&|A|B|||2016||ORU^R01|H3|P|2.5\rPID|1||X\rOBR|1||F|x|||20160101\rOBX|1|NM|1834-1^AFP^LN||" + b"9" * 100000 + b"|ng/mL|||||F\r"]:
            code, _, _ = h.exchange(d.port, bad)
            h.check(code in ("AE", "AR"), "hostile input answered %s" % code)
        h.check(h.query(d.db, "SELECT count(*) FROM results")[0][0] == before, "hostile input stored nothing")
        h.check(h.query(d.db, "PRAGMA integrity_check")[0][0] == "ok", "database integrity ok")
    finally:
        h.check(d.stop() == 0, "clean stop")


def limits(a, tmp):
    d = h.Daemon(a.bin, tmp, "max_message_bytes = 4096\nidle_timeout_s = 1\nmax_connections = 2\n", db_name="limits.db")
    # The [mllp] table is the last one written by Daemon, so these keys land in it.
    d.start()
    try:
        big = h.oru("BIG", "p-1", [h.afp_obx(1, "5")] + ["NTE|%d||%s" % (i, "x" * 100) for i in range(60)])
        with h.connect(d.port) as s:
            s.sendall(h.frame(big))
            reply = h.read_frame(s)
            code, ctl, text = h.parse_ack(reply)
            h.check((code, ctl) == ("AR", "BIG"), "oversized frame: AR echoing MSH-10")
            h.check("max_message_bytes" in text, "the AR says why")
            s.settimeout(5)
            h.check(s.recv(10) == b"", "connection closed after an oversized frame")
        h.check(h.query(d.db, "SELECT count(*) FROM results")[0][0] == 0, "nothing of it stored")

        # A sender that streams bytes but never a frame is closed once the run passes the frame
        # limit (it would otherwise never fall idle), with one log line for the run.
        with h.connect(d.port) as noise:
            noise.settimeout(5)
            for _ in range(5):
                noise.sendall(b"x" * 1000)
                time.sleep(0.05)
            sent = time.time()
            try:
                got = noise.recv(10)
            except ConnectionResetError:
                got = b""
            h.check(got == b"", "a connection streaming no frame is closed")
            h.check(time.time() - sent < 0.5, "at once, not after the idle timeout (1 s)")
        h.check(h.wait_until(lambda: d.log_count("event=garbage_limit") == 1),
                "the run is logged once, when it passes the limit")
        h.check(d.log_count("event=garbage_skipped") == 0, "not one line per read")

        with h.connect(d.port) as idle:
            idle.settimeout(5)
            start = time.time()
            h.check(idle.recv(10) == b"", "idle connection closed by the server")
            h.check(time.time() - start < 4, "within the idle timeout")

        # Activity postpones the idle timeout: a message every 0.4 s for 2.4 s keeps one open.
        with h.connect(d.port) as busy:
            for i in range(6):
                busy.sendall(h.frame(h.oru("KEEP%d" % i, "p-3", [h.afp_obx(1, "5")])))
                code, ctl, _ = h.parse_ack(h.read_frame(busy))
                h.check((code, ctl) == ("AA", "KEEP%d" % i), "an active connection stays open")
                time.sleep(0.4)
            busy.settimeout(5)
            start = time.time()
            h.check(busy.recv(10) == b"", "then closed once it falls quiet")
            h.check(0.3 < time.time() - start < 4, "about one idle timeout after its last message")

        # Connections are accepted in the order they arrive, so c3 comes after c1 and c2 are open.
        c1, c2 = h.connect(d.port), h.connect(d.port)
        with h.connect(d.port) as c3:
            c3.settimeout(5)
            try:
                got = c3.recv(10)
            except ConnectionResetError:
                got = b""
            h.check(got == b"", "a connection over max_connections is closed")
        closed = d.log_count("event=connection_closed")
        c1.close()
        c2.close()
        h.check(h.wait_until(lambda: d.log_count("event=connection_closed") >= closed + 2),
                "the server notices both connections closed")
        code, _, _ = h.exchange(d.port, h.oru("AFTER", "p-2", [h.afp_obx(1, "5")]))
        h.check(code == "AA", "connections are accepted again once below the limit")
        # Only c3: every earlier connection freed its slot before its client saw it close.
        h.check(d.log_count("reason=max_connections") == 1, "refusal is logged, for c3 only")
    finally:
        h.check(d.stop() == 0, "clean stop")


def out_of_file_descriptors(a, tmp):
    """The daemon's descriptor limit lowered under it (prlimit): connections wait in the backlog,
    the listener pauses 500 ms between tries instead of spinning on EMFILE, and once descriptors
    are free the waiting connection is served."""
    if "UBSAN_OPTIONS" in os.environ:
        # The sanitizer build's daemon: UBSan's vptr check reads memory through a pipe, which it
        # cannot open with no descriptor left, and then stops the process on a false report.
        print("# skipped under the sanitizers")
        return
    d = h.Daemon(a.bin, tmp, db_name="fds.db")
    d.start()
    pid = d.proc.pid
    soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    hogs = []
    try:
        code, _, _ = h.exchange(d.port, h.oru("BEFORE", "p-1", [h.afp_obx(1, "5")]))
        h.check(code == "AA", "served before the limit is lowered")
        # No descriptor above the highest in use; open connections until one is left waiting.
        highest = max(int(fd) for fd in os.listdir("/proc/%d/fd" % pid))
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (highest + 1, hard))
        for _ in range(8):
            hogs.append(h.connect(d.port))
        h.check(h.wait_until(lambda: d.log_count("event=accept_failed") >= 1, timeout=10),
                "the failed accept is logged")
        first = d.log_count("event=accept_failed")
        time.sleep(2)
        failed = d.log_count("event=accept_failed") - first
        # About four in two seconds; retrying at once wrote tens of thousands of lines a second.
        h.check(failed <= 6, "the listener pauses between tries (%d more in 2 s)" % failed)
        h.check("Too many open files" in d.log_text(), "the log says why")
    finally:
        for s in hogs:
            s.close()
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))
    try:
        code, _, _ = h.exchange(d.port, h.oru("AFTER", "p-1", [h.afp_obx(1, "5")]))
        h.check(code == "AA", "served again once descriptors are free")
    finally:
        h.check(d.stop() == 0, "clean stop")


def address_in_use(a, tmp):
    """Another process holds the MLLP or the HTTP address: markerwatchd does not start half-way
    (exit 1, no READY) and its log names the listener, the address and why."""
    for listener in ("mllp", "http"):
        holder = socket.socket()
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        addresses = {"mllp": "127.0.0.1:0", "http": "127.0.0.1:0", listener: "127.0.0.1:%d" % port}
        config = os.path.join(tmp, "%s.toml" % listener)
        with open(config, "w") as f:
            f.write('[storage]\npath = "%s"\n[mllp]\nlisten = "%s"\n[http]\nlisten = "%s"\n'
                    % (os.path.join(tmp, "in-use.db"), addresses["mllp"], addresses["http"]))
        try:
            p = subprocess.run([os.path.join(a.bin, "markerwatchd"), "--config", config],
                               capture_output=True, timeout=60)
            out = p.stdout.decode()
            h.check(p.returncode == 1 and "READY" not in out
                    and re.search(r"event=listen_failed listener=%s address=127\.0\.0\.1:%d "
                                  r'error="bind: Address already in use"' % (listener, port), out),
                    "%s address in use: exit 1, no READY, the address in the log (%d)"
                    % (listener, p.returncode))
        finally:
            holder.close()


def shutdown_finishes_in_flight(a, tmp):
    """SIGTERM with work in flight. Eight connections send a message each; a ninth pipelines 300,
    and the signal comes as soon as the first of those is answered, while the daemon holds the
    rest it has read (up to ~256) queued behind it. Everything the daemon read is answered and
    stored; what it had not read is neither (the sender resends it)."""
    d = h.Daemon(a.bin, tmp, "", db_name="stop.db").start()
    socks = []
    for i in range(8):
        s = h.connect(d.port)
        s.sendall(h.frame(h.oru("S%d" % i, "p-%d" % i, [h.afp_obx(1, "5")])))
        socks.append(s)
    pipelined = h.connect(d.port)
    pipelined_port = pipelined.getsockname()[1]
    pipelined.sendall(b"".join(h.frame(h.oru("Q%03d" % i, "q-%d" % (i % 7), [h.afp_obx(1, str(i + 1))]))
                               for i in range(300)))
    reader = h.AckReader(pipelined)
    first = reader.read(1)
    d.proc.send_signal(15)
    # Connections are accepted and read in the order they arrive, so the eight were read before
    # the ninth's first message was committed.
    for i, s in enumerate(socks):
        code, ctl, _ = h.parse_ack(h.read_frame(s, timeout=30))
        h.check((code, ctl) == ("AA", "S%d" % i), "S%d answered AA" % i)
        s.close()
    acks = [ack[:2] for ack in first + reader.read()]
    pipelined.close()
    h.check(acks == [("AA", "Q%03d" % i) for i in range(len(acks))], "pipelined ACKs: AA, in order")
    rc = d.proc.wait(timeout=30)
    d._drain.wait(timeout=30)
    d.log.close()
    h.check(rc == 0, "exit 0 after SIGTERM")
    # What the connection held when the stop reached it, and what it had answered when it closed,
    # as the daemon logs them (a read already under way at the stop may add a few more).
    peer = r"peer=127\.0\.0\.1:%d " % pipelined_port
    held = re.search(r"event=connection_finishing " + peer + r"answered=(\d+) in_progress=(\d+) queued=(\d+)",
                     d.log_text())
    closed = re.search(r"event=connection_closed " + peer + r"answered=(\d+)", d.log_text())
    h.check(held is not None and closed is not None, "the stop and the close are logged for the pipelining connection")
    answered, in_progress, queued = (int(g) for g in held.groups())
    h.check(queued > 0, "messages were queued behind the one in progress when the stop came (%d)" % queued)
    h.check(int(closed.group(1)) >= answered + in_progress + queued,
            "each of them answered before the connection closed (%s >= %d + %d + %d)"
            % (closed.group(1), answered, in_progress, queued))
    h.check(len(acks) == int(closed.group(1)), "the sender received every answer (%d)" % len(acks))
    stored = [r[0] for r in h.query(d.db, "SELECT control_id FROM messages WHERE outcome = 'accepted' "
                                          "ORDER BY control_id")]
    h.check(stored == sorted(["S%d" % i for i in range(8)] + [c for _, c in acks]),
            "exactly the answered messages are stored (%d)" % len(stored))


def systemd_notify(a, tmp):
    """READY=1 only once listening, WATCHDOG=1 from the event loop while the writer is not stuck,
    STOPPING=1 on SIGTERM."""
    path = os.path.join(tmp, "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(10)
    env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="200000")
    d = h.Daemon(a.bin, tmp, "", db_name="notify.db").start(env=env)
    got = []
    deadline = time.time() + 5
    while time.time() < deadline and got.count("WATCHDOG=1") < 3:
        got.append(sock.recv(4096).decode())
    h.check("READY=1" in got, "READY=1 sent")
    h.check(got.count("WATCHDOG=1") >= 3, "WATCHDOG=1 sent periodically")
    code, _, _ = h.exchange(d.port, h.oru("N1", "p", [h.afp_obx(1, "5")]))
    h.check(code == "AA", "listener was bound when READY=1 came")
    # SIGHUP reloads the configuration (reload_e2e): systemd is told RELOADING=1, then READY=1.
    d.proc.send_signal(1)
    seen = []
    deadline = time.time() + 10
    while time.time() < deadline and "READY=1" not in seen:
        message = sock.recv(4096).decode()
        if message == "RELOADING=1" or (seen and message == "READY=1"):
            seen.append(message)
    h.check(seen == ["RELOADING=1", "READY=1"], "SIGHUP: RELOADING=1, then READY=1 (%r)" % seen)
    h.check(h.wait_until(lambda: "event=config_reloaded" in d.log_text()), "the reload is logged")
    code, _, _ = h.exchange(d.port, h.oru("N2", "p", [h.afp_obx(1, "6")]))
    h.check(code == "AA" and d.proc.poll() is None, "and does not stop the daemon")

    # A writer stuck in one batch (here: another process holds the database's write lock, and the
    # writer waits up to its 5 s busy timeout) stops the kicks, so systemd would restart a writer
    # that hangs; they resume once the batch is done.
    lock = sqlite3.connect(d.db, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    stuck = h.connect(d.port)
    stuck.sendall(h.frame(h.oru("N3", "p", [h.afp_obx(1, "7")])))
    h.check(h.wait_until(lambda: "event=watchdog_withheld" in d.log_text(), timeout=4),
            "the withheld kick is logged")
    sock.setblocking(False)
    try:
        while True:  # what was sent before the writer got stuck
            sock.recv(4096)
    except BlockingIOError:
        pass
    sock.settimeout(0.2)
    during = []
    deadline = time.time() + 1
    while time.time() < deadline:
        try:
            during.append(sock.recv(4096).decode())
        except socket.timeout:
            pass
    h.check(during.count("WATCHDOG=1") == 0, "no WATCHDOG=1 while the writer is stuck (%d)"
            % during.count("WATCHDOG=1"))
    lock.rollback()
    lock.close()
    code, ctl, _ = h.parse_ack(h.read_frame(stuck))
    stuck.close()
    h.check((code, ctl) == ("AA", "N3"), "the message waiting for the lock is stored and answered")
    sock.settimeout(5)
    h.check(sock.recv(4096).decode() == "WATCHDOG=1", "WATCHDOG=1 again after the batch")
    h.check(h.wait_until(lambda: "event=watchdog_resumed" in d.log_text()), "the resumption is logged")
    h.check(d.stop() == 0, "clean stop")
    rest = []
    sock.settimeout(1)
    try:
        while True:
            rest.append(sock.recv(4096).decode())
    except socket.timeout:
        pass
    h.check("STOPPING=1" in rest, "STOPPING=1 sent on SIGTERM")


def as_schema_5_with_results(db_path, results):
    """Turns a database of the current schema back into one of schema 5 holding `results` AFP
    values of 5,000 patients: what an upgrade from an older version finds."""
    db = sqlite3.connect(db_path, isolation_level=None)
    db.execute("BEGIN")
    db.execute("DROP TABLE milestone_changes")  # schema 9
    db.execute("DROP TABLE search_cursors")  # schema 8
    db.execute("ALTER TABLE messages DROP COLUMN raw_pruned_at")  # schema 7
    db.execute("DROP INDEX results_by_series")
    db.execute("CREATE INDEX results_by_series ON results (patient_id, marker, collected_date)")
    db.execute("DELETE FROM schema_migrations WHERE version >= 6")
    db.execute("DELETE FROM results")
    db.execute("DELETE FROM patients")
    db.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) "
               "INSERT INTO patients (id, identifier, authority, created_at) "
               "SELECT i, 'UP-' || i, '', '2026-01-01T00:00:00Z' FROM n")
    db.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
               "INSERT INTO results (patient_id, marker, collected_at, collected_date, value, unit, "
               "status, source, effective, stored_at) SELECT 1 + i % 5000, 'AFP', "
               "'2020-01-01T00:00:00Z', date('2000-01-01', '+' || (i / 5000) || ' days'), i % 97, "
               "'ng/mL', 'final', 'csv', 1, '2026-01-01T00:00:00Z' FROM n", (results,))
    db.execute("COMMIT")
    db.close()


def schema_upgrade_extends_start_timeout(a, tmp):
    """A database of the schema before (5) with 2,000,000 results: the upgrade rebuilds the series
    index over all of them, which takes seconds, and the daemon tells systemd every second to
    extend its start timeout (EXTEND_TIMEOUT_USEC) before READY=1; the results are all kept. The
    CLI upgrades such a database too, and says so while it works."""
    latest = max(int(name[:4]) for name in os.listdir(os.path.join(a.source, "schema"))
                 if name.endswith(".sql"))
    d = h.Daemon(a.bin, tmp, "", db_name="upgrade.db").start()
    h.check(d.stop() == 0, "a database of the current schema created")
    as_schema_5_with_results(d.db, 2000000)

    path = os.path.join(tmp, "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(60)
    env = dict(os.environ, NOTIFY_SOCKET=path)
    got = []

    def listen():  # as systemd does, while the daemon starts
        while "READY=1" not in got:
            got.append(sock.recv(4096).decode())

    # Read while the daemon starts: an unread socket holds ~10 datagrams (net.unix.max_dgram_qlen),
    # then sd_notify blocks, and an upgrade slower than ten seconds (ThreadSanitizer's) hung here.
    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    d.start(env=env, timeout=300)
    listener.join(timeout=60)
    sock.close()
    h.check(got[-1:] == ["READY=1"], "READY=1 sent (%r)" % got[-3:])
    extends = [m for m in got if m.startswith("EXTEND_TIMEOUT_USEC=")]
    h.check(len(extends) >= 1 and set(extends) == {"EXTEND_TIMEOUT_USEC=10000000"},
            "the start timeout extended before READY=1 (%d times)" % len(extends))
    h.check(d.stop() == 0, "clean stop")  # the log is complete once the daemon is gone
    h.check("event=schema_upgrading" in d.log_text(), "the upgrade is logged as it begins")
    h.check("event=schema_migrated from=5 to=%d" % latest in d.log_text(), "and when it is done")
    index = h.query(d.db, "SELECT sql FROM sqlite_master WHERE name = 'results_by_series'")[0][0]
    h.check("obs_id" in index, "the series index is the one of schema 6")
    h.check(h.query(d.db, "SELECT count(*) FROM results")[0][0] == 2000000, "every result kept")

    as_schema_5_with_results(d.db, 2000000)
    cli = h.cli(a.bin, "alerts", "--db", d.db)
    h.check(b"markerwatch: upgrading the schema of" in cli.stderr,
            "the CLI says it is upgrading the database: %r" % cli.stderr[-200:])
    h.check(h.query(d.db, "SELECT max(version) FROM schema_migrations")[0][0] == latest,
            "and leaves it at schema %d" % latest)
    h.check(h.query(d.db, "SELECT count(*) FROM results")[0][0] == 2000000, "every result kept")
    h.check(b"upgrading" not in h.cli(a.bin, "alerts", "--db", d.db).stderr,
            "a database already upgraded: not a word")


def main(a, tmp):
    h.run_each(a, tmp, (samples_over_mllp, afp_batches, limits, out_of_file_descriptors,
                        address_in_use, shutdown_finishes_in_flight, systemd_notify,
                        schema_upgrade_extends_start_timeout))


if __name__ == "__main__":
    h.run(main)
