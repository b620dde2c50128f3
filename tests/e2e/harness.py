"""Shared helpers for the end-to-end tests: start markerwatchd on a free loopback port with a
temporary database, talk MLLP to it, run the CLI. Standard library only."""
import argparse
import json
import os
import select
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

SB, EB, CR = b"\x0b", b"\x1c", b"\r"


def args():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--shared", required=True)
    p.add_argument("--source", required=True)
    p.add_argument("--bench", help="where the benchmark tools are built (bench_load_e2e)")
    p.add_argument("--failing-sync",
                   help="a library to preload: syncs of the log or the database fail (storage_e2e)")
    return p.parse_args()


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)
    print("ok -", what)


def frame(msg: bytes) -> bytes:
    return SB + msg + EB + CR


def parse_ack(raw: bytes):
    """Returns (MSA-1, MSA-2, full text) of one framed ACK."""
    text = raw.strip(SB + EB + CR).decode("utf-8", "replace")
    for seg in text.split("\r"):
        if seg.startswith("MSA|"):
            f = seg.split("|")
            return f[1], (f[2] if len(f) > 2 else ""), text
    raise Failure("no MSA in ACK: %r" % text)


_started = []  # every Daemon started, so run() can kill what a failing test left running


class Daemon:
    def __init__(self, bin_dir, workdir, config_extra="", db_name="mw.db", http_extra="",
                 storage_extra=""):
        self.bin_dir = bin_dir
        self.workdir = workdir
        self.db = os.path.join(workdir, db_name)
        self.config = os.path.join(workdir, "markerwatch.toml")
        with open(self.config, "w") as f:
            # [mllp] last: a config_extra that starts with bare keys continues that table.
            # http_extra, storage_extra: more keys of the [http] and [storage] tables.
            f.write('[storage]\npath = "%s"\n%s[http]\nlisten = "127.0.0.1:0"\n%s'
                    '[mllp]\nlisten = "127.0.0.1:0"\n' % (self.db, storage_extra, http_extra))
            f.write(config_extra)
        self.proc = None
        self.port = None
        self.http_port = None
        self.log_path = os.path.join(workdir, "daemon.log")

    def start(self, timeout=20, env=None):
        self.log = open(self.log_path, "ab")
        # Unbuffered: a buffered reader's readline can take in lines after READY too, which
        # the `cat` below (reading the pipe itself) would then never see, nor the log file.
        self.proc = subprocess.Popen(
            [os.path.join(self.bin_dir, "markerwatchd"), "--config", self.config],
            stdout=subprocess.PIPE, stderr=self.log, env=env, bufsize=0)
        _started.append(self)
        deadline = time.time() + timeout
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise Failure("markerwatchd exited: " + open(self.log_path).read()[-2000:])
            self.log.write(line)
            if line.startswith(b"READY"):
                ports = dict(kv.split(b"=") for kv in line.split()[1:])
                self.port = int(ports[b"mllp"])
                self.http_port = int(ports[b"http"])
                self.log.flush()  # before `cat` appends to the same file
                # Keep draining stdout so the daemon never blocks on a full pipe.
                self._drain = subprocess.Popen(["cat"], stdin=self.proc.stdout, stdout=self.log)
                return self
        raise Failure("markerwatchd did not get ready")

    def stop(self, sig=signal.SIGTERM, timeout=30):
        self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=timeout)
        self._drain.wait(timeout=timeout)
        self.log.close()
        return rc

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self._drain.wait(timeout=30)
        self.log.close()

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def log_count(self, event):
        """How many log lines carry `event` (e.g. "event=connection_open")."""
        return self.log_text().count(event)


def wait_until(condition, timeout=20, interval=0.02):
    """Polls `condition` until it holds or `timeout` seconds pass; returns whether it held.
    For what the daemon does on its own time (a signal handled, a connection noticed closed), so
    a loaded machine makes a test slower, never wrong."""
    deadline = time.time() + timeout
    while True:
        if condition():
            return True
        if time.time() > deadline:
            return False
        time.sleep(interval)


def connect(port, timeout=10):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return s


def read_frame(sock, timeout=10):
    """Reads one framed reply; returns b'' when the server closed the connection."""
    sock.settimeout(timeout)
    buf = b""
    while not buf.endswith(EB + CR):
        chunk = sock.recv(65536)
        if not chunk:
            return buf
        buf += chunk
    return buf


class AckReader:
    """Framed ACKs from one connection, parsed as parse_ack does; several may come in one read,
    and bytes past the last complete frame are kept for the next call."""

    def __init__(self, sock, timeout=30):
        self.sock, self.buf = sock, b""
        sock.settimeout(timeout)

    def read(self, count=None):
        """Up to `count` ACKs (all until the server closes the connection when None)."""
        acks = []
        while count is None or len(acks) < count:
            if EB + CR in self.buf:
                one, self.buf = self.buf.split(EB + CR, 1)
                acks.append(parse_ack(one + EB + CR))
                continue
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            self.buf += chunk
        return acks


def exchange(port, message: bytes):
    with connect(port) as s:
        s.sendall(frame(message))
        return parse_ack(read_frame(s))


def mllp_send(port, path):
    """Sends a file of framed messages with python3-hl7's mllp_send; returns the ACKs."""
    out = subprocess.run(["mllp_send", "-p", str(port), "-f", path, "127.0.0.1"],
                         check=True, capture_output=True, timeout=60).stdout
    acks = [a for a in out.split(b"\n") if b"MSA|" in a]
    return [parse_ack(a) for a in acks]


def milestones_then_mllp(a, workdir, daemon_config, cli_config, milestones, messages, name):
    """A daemon of its own in workdir: the milestones CSV imported with the CLI, then the
    messages sent in their order with mllp_send. Returns (ACK codes, every alert as
    `markerwatch alerts --state all --format json` lists them, the database path)."""
    os.mkdir(workdir)
    d = Daemon(a.bin, workdir, daemon_config).start()
    try:
        cli(a.bin, "import", "--config", cli_config, "--db", d.db, milestones)
        path = os.path.join(workdir, "results.mllp")
        with open(path, "wb") as f:
            f.write(b"".join(frame(m) for m in messages))
        codes = [c for c, _, _ in mllp_send(d.port, path)]
        alerts = json.loads(cli(a.bin, "alerts", "--config", cli_config, "--db", d.db, "--state",
                                "all", "--format", "json").stdout)
    finally:
        check(d.stop() == 0, "%s: clean stop" % name)
    return codes, alerts, d.db


def cli(bin_dir, *argv, check_rc=True, preexec_fn=None, env=None):
    p = subprocess.run([os.path.join(bin_dir, "markerwatch"), *argv], capture_output=True,
                       timeout=120, preexec_fn=preexec_fn, env=env)
    if check_rc and p.returncode != 0:
        raise Failure("markerwatch %s failed (%d): %s" % (" ".join(argv), p.returncode,
                                                         p.stderr.decode()))
    return p


def results_json(bin_dir, db, patient, marker=None, config=None):
    argv = ["results", "--db", db, "--patient", patient, "--format", "json"]
    if config:
        argv += ["--config", config]
    if marker:
        argv += ["--marker", marker]
    return json.loads(cli(bin_dir, *argv).stdout)


def query(db, sql, params=()):
    con = sqlite3.connect(db, timeout=30)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def oru(control_id, patient, obx_lines, collected="20161215083000", version="2.5.1"):
    segs = [
        "MSH|^~\\&|LAB|HOSP|MW|ONC|20161215093000||ORU^R01^ORU_R01|%s|P|%s" % (control_id, version),
        "PID|1||%s^^^HOSP^MR||Doe^Jane" % patient,
        "OBR|1|ORD-%s|FILL-%s|1834-1^AFP^LN|||%s" % (control_id, control_id, collected),
    ]
    segs += obx_lines
    return ("\r".join(segs) + "\r").encode()


def afp_obx(set_id, value, unit="ng/mL", status="F", collected="", value_type="NM", code="1834-1^AFP^LN"):
    return "OBX|%d|%s|%s|%d|%s|%s|0-10||||%s|||%s" % (set_id, value_type, code, set_id, value, unit,
                                                     status, collected)


def partial_seed(shared, tmp, before, patient):
    """The seed case's results collected before `before` (YYYY-MM-DD) and all its milestones,
    renamed to `patient`: a second patient whose later alerts are still open. Returns the two
    CSV paths (results, milestones)."""
    seed = os.path.join(shared, "seed")
    results = os.path.join(tmp, "partial-%s.csv" % patient)
    with open(os.path.join(seed, "results.csv")) as src, open(results, "w") as dst:
        lines = src.read().splitlines()
        dst.write(lines[0] + "\n")
        for line in lines[1:]:
            if line.split(",")[2] < before:
                dst.write(line.replace("case-001", patient, 1) + "\n")
    milestones = os.path.join(tmp, "partial-ms-%s.csv" % patient)
    with open(os.path.join(seed, "milestones.csv")) as src, open(milestones, "w") as dst:
        dst.write(src.read().replace("case-001", patient))
    return results, milestones


def run_each(a, tmp, tests):
    """Runs each test function in a folder of its own under tmp, named after it."""
    for test in tests:
        sub = os.path.join(tmp, test.__name__)
        os.mkdir(sub)
        print("#", test.__name__)
        test(a, sub)


def run(main):
    a = args()
    tmp = tempfile.mkdtemp(prefix="mw-e2e-")
    try:
        main(a, tmp)
        print("PASS")
    except Failure as e:
        print("FAILED:", e)
        for root, _, names in sorted(os.walk(tmp)):
            for name in sorted(n for n in names if n.endswith(".log")):
                path = os.path.join(root, name)
                print("---", os.path.relpath(path, tmp))
                print(open(path, errors="replace").read()[-4000:])
        # Again last, where a shortened CI log (its head and tail) still shows it.
        print("FAILED:", e)
        sys.exit(1)
    finally:
        # A test that failed (or raised) midway must not leave a daemon, and the process that
        # drains its output, holding ctest's pipe open until the timeout.
        for d in _started:
            if d.proc.poll() is None:
                d.proc.kill()
                d.proc.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)
