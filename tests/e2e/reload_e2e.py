"""A configuration reload (SIGHUP, POST /reload with an `admin` token): what may change takes effect
for the messages and requests after it (a local lab code, the log level, the HTTP tokens); a file
with an error, or one that changes what only a restart can, is refused whole and the running
configuration stays; the daemon keeps serving throughout. Peers: python3-hl7's mllp_send and
Python's http.client."""
import json
import os
import signal

import harness as h
from http_e2e import problem, request, token_lines

LOCAL_AFP = "AFPX^AFP local^L"


def send_local(d, path, control_id):
    """One ORU^R01 with an AFP under the lab's local code, sent with mllp_send."""
    with open(path, "wb") as f:
        f.write(h.frame(h.oru(control_id, "r1", [h.afp_obx(1, "45", code=LOCAL_AFP)])))
    acks = h.mllp_send(d.port, path)
    h.check(len(acks) == 1 and acks[0][1] == control_id, "%s answered" % control_id)
    return acks[0][0]


def results(d):
    return h.query(d.db, "SELECT count(*) FROM results")[0][0]


def main(a, tmp):
    admin, admin_cfg = token_lines(a, "ops", "admin")
    reader, reader_cfg = token_lines(a, "dashboard", "read")
    late, late_cfg = token_lines(a, "late-reader", "read")
    d = h.Daemon(a.bin, tmp, "")
    with open(d.config) as f:
        base = f.read()
    with open(d.config, "w") as f:
        f.write(base + admin_cfg + reader_cfg)
    d.start()
    msg = os.path.join(tmp, "msg.hl7")

    send_local(d, msg, "L1")
    h.check(results(d) == 0, "before the reload the local code maps to no marker: nothing stored")
    h.check("event=message_stored" not in d.log_text() and "event=batch_committed" not in d.log_text(),
            "and no debug or trace lines at level info")

    # What may change: a local code for AFP, the log level, the tokens (one added, one removed).
    reloaded = (base + '[markers.AFP]\nlocal_codes = ["L|AFPX"]\n[log]\nlevel = "trace"\n' +
                admin_cfg + late_cfg)
    with open(d.config, "w") as f:
        f.write(reloaded)
    d.proc.send_signal(signal.SIGHUP)
    h.check(h.wait_until(lambda: "event=config_reloaded" in d.log_text()), "SIGHUP reloads it")
    h.check(send_local(d, msg, "L2") == "AA", "the next message is accepted")
    h.check(results(d) == 1, "and its AFP under the local code is stored")
    h.check(h.wait_until(lambda: "event=message_stored" in d.log_text() and
                         "event=batch_committed" in d.log_text()),
            "the trace level is in force, also in the modules' loggers (the writer's)")
    problem(*request(d.http_port, "GET", "/metrics", token=reader), 401)
    r, _ = request(d.http_port, "GET", "/metrics", token=late)
    h.check(r.status == 200, "the removed token is refused, the added one admitted")

    # POST /reload: only with `admin`, only POST.
    problem(*request(d.http_port, "POST", "/reload"), 401)
    body = problem(*request(d.http_port, "POST", "/reload", token=late), 403)
    h.check("admin" in body["detail"], "403 names the role: %r" % body)
    problem(*request(d.http_port, "GET", "/reload", token=admin), 405)
    r, data = request(d.http_port, "POST", "/reload", token=admin)
    h.check(r.status == 200 and json.loads(data)["status"] == "reloaded",
            "POST /reload with an unchanged file: 200 (%d %r)" % (r.status, data[:200]))

    # A file with an error: refused with its line, and the running configuration stays.
    broken = reloaded.replace('level = "trace"', 'level = "trace"\nwhatever = 1')
    line = broken.splitlines().index("whatever = 1") + 1
    with open(d.config, "w") as f:
        f.write(broken)
    body = problem(*request(d.http_port, "POST", "/reload", token=admin), 409)
    h.check("markerwatch.toml:%d:" % line in body["detail"] and "log.whatever" in body["detail"],
            "the refusal names the file, line and key: %r" % body["detail"])
    h.check(send_local(d, msg, "L3") == "AA" and results(d) == 2,
            "the local code still maps after the refused reload")
    r, data = request(d.http_port, "GET", "/metrics", token=late)
    h.check(r.status == 200, "and the tokens are still those in force")
    for line in ['markerwatch_config_reloads_total{outcome="applied"} 2',
                 'markerwatch_config_reloads_total{outcome="refused"} 1',
                 "markerwatch_config_last_reload_successful 0"]:
        h.check(line in data.decode(), "metrics show %r" % line)

    # Broken bytes, then SIGHUP: logged, refused, the daemon keeps serving.
    with open(d.config, "wb") as f:
        f.write(b"[log]\nlevel = \"\xff\xfe\"\n")
    refused = d.log_count("event=config_reload_refused")
    d.proc.send_signal(signal.SIGHUP)
    h.check(h.wait_until(lambda: d.log_count("event=config_reload_refused") == refused + 1),
            "a SIGHUP with a broken file is refused and logged")
    h.check(send_local(d, msg, "L4") == "AA" and results(d) == 3 and d.proc.poll() is None,
            "and the daemon keeps serving with the configuration in force")

    # What only a restart can change: refused whole, naming the keys; nothing else taken up.
    moved = reloaded.replace('[mllp]\nlisten = "127.0.0.1:0"', '[mllp]\nlisten = "127.0.0.1:1"')
    moved = moved.replace('local_codes = ["L|AFPX"]', "local_codes = []")
    with open(d.config, "w") as f:
        f.write(moved)
    body = problem(*request(d.http_port, "POST", "/reload", token=admin), 409)
    h.check("only at a restart: mllp.listen;" in body["detail"],
            "a new MLLP address needs a restart: %r" % body["detail"])
    h.check(send_local(d, msg, "L5") == "AA" and results(d) == 4,
            "the local code, dropped in the same file, still maps")

    stored = h.query(d.db, "SELECT control_id, outcome FROM messages ORDER BY id")
    h.check([c for c, _ in stored] == ["L1", "L2", "L3", "L4", "L5"],
            "every message was kept: %r" % stored)
    h.check(d.stop() == 0, "clean stop after the reloads")


if __name__ == "__main__":
    h.run(main)
