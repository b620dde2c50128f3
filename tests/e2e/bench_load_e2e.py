#!/usr/bin/env python3
"""The MLLP load generator (bench/mllp_load) measures what it claims: against markerwatchd every
message it counts was acknowledged AA with its own MSH-10 and stored, and the same run id and
count send the same messages again (duplicates); against a server that answers wrongly, or not at
all, it says so and exits 1; with --write it writes the messages to a file that imports whole."""
import os
import socket
import subprocess
import threading

import harness as h


def load(binary, port, connections, seconds="0.6", run_id=None, warmup="0.2", messages=None):
    # A run id of its own: a control id sent again would be answered as a duplicate.
    args = [binary, "--port", str(port), "-c", str(connections), "-d", seconds,
            "--warmup", warmup, "--run-id", run_id or "SMOKE%d" % connections]
    if messages:
        args += ["--messages", messages]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=60)
    fields = dict(kv.split("=", 1) for kv in proc.stdout.split() if "=" in kv)
    if "connections" not in fields:
        raise h.Failure("mllp_load printed no figures (exit %d): %s" % (proc.returncode, proc.stderr[-500:]))
    return proc.returncode, fields, proc.stderr


def against_markerwatchd(a, tmp, binary):
    d = h.Daemon(a.bin, tmp).start()
    try:
        for connections in (1, 8):
            before = h.query(d.db, "SELECT count(*) FROM messages")[0][0]
            rc, f, err = load(binary, d.port, connections)
            h.check(rc == 0, "%d connection(s): exit 0 (%s)" % (connections, err.strip()))
            h.check(int(f["connections"]) == connections, "it ran %d connection(s)" % connections)
            h.check(int(f["messages"]) > 0 and f["bad_acks"] == "0" and f["failed_connections"] == "0",
                    "%d connection(s): messages acknowledged, none wrongly (%s)" % (connections, f))
            acked = int(f["acks_with_warmup"])
            h.check(h.query(d.db, "SELECT count(*) FROM messages")[0][0] - before == acked,
                    "%d connection(s): every ACK it counted is a message the daemon kept (%d)"
                    % (connections, acked))
            outcomes = dict(h.query(d.db, "SELECT outcome, count(*) FROM messages GROUP BY 1"))
            h.check(set(outcomes) == {"accepted"}, "every message accepted (%s)" % outcomes)
            h.check(float(f["p50_ms"]) > 0 and float(f["p99_ms"]) >= float(f["p50_ms"]),
                    "latency percentiles are ordered (%s)" % f)
        # A resend storm in small (bench/run storm): --messages sends a fixed count per
        # connection, and the same run id and count send the same messages again.
        def counts():
            return (dict(h.query(d.db, "SELECT outcome, count(*) FROM messages GROUP BY 1")),
                    h.query(d.db, "SELECT count(*) FROM results")[0][0],
                    h.query(d.db, "SELECT count(*) FROM alert_events")[0][0])
        outcomes, results, events = counts()
        for resend in (False, True):
            rc, f, err = load(binary, d.port, 4, seconds="30", run_id="RESEND", warmup="0",
                              messages="25")
            h.check(rc == 0 and f["messages"] == "100" and f["acks_with_warmup"] == "100",
                    "--messages 25 on 4 connections: 100 messages, all AA (%s %s)" % (f, err.strip()))
            h.check(float(f["msg_per_s"]) > 0, "a rate over the time the messages took (%s)" % f)
            now, stored, logged = counts()
            added = {k: now.get(k, 0) - outcomes.get(k, 0) for k in now if now.get(k, 0) != outcomes.get(k, 0)}
            if resend:
                h.check(added == {"duplicate": 100} and stored == results and logged == events,
                        "sent again: 100 duplicates logged, no result or alert event added (%s)"
                        % added)
            else:
                h.check(added == {"accepted": 100} and stored > results,
                        "sent once: 100 messages accepted, results stored (%s)" % added)
            outcomes, results, events = now, stored, logged
    finally:
        h.check(d.stop() == 0, "clean stop")


def serve(listener, answer):
    """A fake MLLP server: answers each frame with answer(control_id), or closes at once."""
    def one(conn):
        buf = b""
        with conn:
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                buf += data
                while b"\x1c\r" in buf:
                    frame, buf = buf.split(b"\x1c\r", 1)
                    control = frame.split(b"\r")[0].split(b"|")[9]
                    reply = answer(control)
                    if reply is None:
                        return
                    conn.sendall(b"\x0b" + reply + b"\x1c\r")

    def accept():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=one, args=(conn,), daemon=True).start()
    threading.Thread(target=accept, daemon=True).start()


def against_wrong_servers(binary):
    msh = b"MSH|^~\\&|R|F|S|F|20260101||ACK|1|P|2.5.1\r"
    cases = [
        ("answers AE", lambda c: msh + b"MSA|AE|" + c, "bad_acks"),
        ("echoes another MSH-10", lambda c: msh + b"MSA|AA|X" + c, "bad_acks"),
        ("closes without an ACK", lambda c: None, "failed_connections"),
    ]
    for what, answer, field in cases:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        serve(listener, answer)
        rc, f, _ = load(binary, listener.getsockname()[1], 4, seconds="0.3")
        listener.close()
        h.check(rc == 1 and int(f[field]) > 0,
                "a server that %s: exit 1 and %s counted (rc %d, %s)" % (what, field, rc, f))
    # Nobody listening: every connection fails.
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()
    rc, f, _ = load(binary, port, 3)
    h.check(rc == 1 and f["failed_connections"] == "3", "no server: exit 1, 3 connections failed (%s)" % f)


def written_to_a_file(a, tmp, binary):
    """--write: the messages a run would send, in a file that `markerwatch import` takes whole
    (bench/run hl7)."""
    path = os.path.join(tmp, "backfill.hl7")
    out = subprocess.run([binary, "--write", path, "-c", "3", "--messages", "4", "--run-id", "F"],
                         capture_output=True, text=True, timeout=60)
    h.check(out.returncode == 0 and "wrote=12" in out.stdout, "--write: 12 messages (%s)" % out)
    with open(path, "rb") as f:
        text = f.read()
    h.check(text.count(b"MSH|") == 12 and text.endswith(b"\r\n"),
            "12 messages, CR segment ends, a line feed after each")
    db = os.path.join(tmp, "backfill.db")
    h.cli(a.bin, "import", "--db", db, path)
    h.check(h.query(db, "SELECT outcome, count(*) FROM messages GROUP BY 1") == [("accepted", 12)],
            "every written message imports as accepted")
    h.check(h.query(db, "SELECT count(DISTINCT control_id) FROM messages")[0][0] == 12,
            "each with its own control id")
    out = subprocess.run([binary, "--write", path, "-c", "3"], capture_output=True, text=True,
                         timeout=60)
    h.check(out.returncode == 2 and "--messages" in out.stderr, "--write without --messages: exit 2")
    out = subprocess.run([binary, "-c", "3"], capture_output=True, text=True, timeout=60)
    h.check(out.returncode == 2 and "--port" in out.stderr, "neither --port nor --write: exit 2")


def main(a, tmp):
    binary = os.path.join(a.bench, "mllp_load")
    against_markerwatchd(a, tmp, binary)
    against_wrong_servers(binary)
    written_to_a_file(a, tmp, binary)


if __name__ == "__main__":
    h.run(main)
