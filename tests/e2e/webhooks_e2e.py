"""Webhook notifications end to end (issue #4): a Node receiver verifies every request with the
Standard Webhooks reference library (npm standardwebhooks); the seed case over MLLP gives exactly
three alert.new deliveries (none with the default max_age_days); receivers that fail, throttle,
time out, reset, refuse or are gone; kill -9 with deliveries pending; pseudonyms; webhook test;
receivers changed by a reload."""
import base64
import csv
import json
import os
import re
import signal
import socket
import subprocess
import time

import harness as h
from seed_e2e import to_oru

SECRET = "whsec_" + base64.b64encode(b"markerwatch-e2e-secret-32-bytes!").decode()
RECEIVER_DIR = None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Receiver:
    def __init__(self, tmp, name, port=None):
        self.port = port or free_port()
        self.log = os.path.join(tmp, "receiver-%s.jsonl" % name)
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(["node", os.path.join(RECEIVER_DIR, "receiver.js"),
                                      str(self.port), SECRET, self.log],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        h.check(self.proc.stdout.readline().startswith(b"READY"), "receiver on %d" % self.port)
        return self

    def stop(self):
        self.proc.kill()
        self.proc.wait()

    def requests(self, path=None):
        if not os.path.exists(self.log):
            return []
        # Only complete lines: the receiver may be writing the last one while this reads.
        rows = [json.loads(l) for l in open(self.log) if l.endswith("\n") and l.strip()]
        return [r for r in rows if path is None or r["path"] == path]

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)


def receiver_toml(name, url, extra=""):
    return ('[[webhooks]]\nname = "%s"\nurl = "%s"\nsecret = "%s"\n%s' % (name, url, SECRET, extra))


def deliveries(a, db, config, *argv):
    return json.loads(h.cli(a.bin, "deliveries", "--config", config, "--db", db, "--format",
                            "json", *argv).stdout)


def start_with_held_requests(a, tmp, recv, seed, receiver):
    """A daemon whose receiver holds the first request of each webhook-id for 5 s (/slow), with
    the seed case sent: returns once the three alert.new requests are in flight, with the
    receiver's request count before them."""
    toml = ("[notify]\nmax_age_days = 0\n" +
            receiver_toml(receiver, recv.url("/slow"),
                          'events = ["new"]\ntimeout_s = 30\nretry_schedule = [0, 1, 1, 1]\n'))
    d, config = start_daemon(a, tmp, receiver, toml)
    before = len(recv.requests("/slow"))
    send_seed(a, d, config, seed)
    deadline = time.time() + 20
    suffix = "_" + receiver
    while len([r for r in recv.requests("/slow")[before:] if r["id"].endswith(suffix)]) < 3:
        if time.time() > deadline:
            raise h.Failure("the held requests did not arrive")
        time.sleep(0.2)
    return d, config, before


def wait_settled(a, db, config, timeout=40, allow_pending=()):
    deadline = time.time() + timeout
    while time.time() < deadline:
        pending = [d for d in deliveries(a, db, config, "--state", "pending")
                   if d["receiver"] not in allow_pending]
        if not pending:
            return
        time.sleep(0.5)
    raise h.Failure("deliveries still pending: %s" % pending[:3])


def send_seed(a, d, config, seed, patient="case-001"):
    """The seed case's milestones (CLI import), then its results over MLLP, as `patient` (control
    ids of their own for another patient, so that they are not resends)."""
    milestones = os.path.join(seed, "milestones.csv")
    rows = list(csv.DictReader(open(os.path.join(seed, "results.csv"))))
    frames = [h.frame(to_oru(i, r)) for i, r in enumerate(rows)]
    if patient != "case-001":
        milestones = os.path.join(os.path.dirname(d.db), "milestones-%s.csv" % patient)
        with open(os.path.join(seed, "milestones.csv")) as src, open(milestones, "w") as dst:
            dst.write(src.read().replace("case-001", patient))
        frames = [f.replace(b"case-001", patient.encode()).replace(b"SEED-", b"%s-" % patient.encode())
                  for f in frames]
    h.cli(a.bin, "import", "--config", config, "--db", d.db, milestones)
    path = os.path.join(os.path.dirname(d.db), "seed-%s.mllp" % patient)
    with open(path, "wb") as f:
        f.write(b"".join(frames))
    acks = h.mllp_send(d.port, path)
    h.check([c for c, _, _ in acks] == ["AA"] * 34, "seed as %s: 34 AA" % patient)


def start_daemon(a, tmp, name, toml):
    sub = os.path.join(tmp, name)
    os.mkdir(sub)
    base = '[ingest]\ndefault_timezone = "UTC"\n[markers.PIVKA-II]\nlocal_codes = ["L|DCP"]\n'
    d = h.Daemon(a.bin, sub, base + toml).start()
    return d, d.config


def main(a, tmp):
    global RECEIVER_DIR
    RECEIVER_DIR = os.path.join(a.source, "tests", "e2e", "webhook_receiver")
    if not os.path.isdir(os.path.join(RECEIVER_DIR, "node_modules", "standardwebhooks")):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=RECEIVER_DIR, check=True,
                       capture_output=True, timeout=300)
    seed = os.path.join(a.shared, "seed")
    recv = Receiver(tmp, "main").start()
    try:
        # 1. The seed case with max_age_days = 0: three alert.new, signed, readable Slack texts.
        toml = ("[notify]\nmax_age_days = 0\npseudonym_key = \"e2e-pseudonym-key-0001\"\n" +
                receiver_toml("team", recv.url("/ok")) +
                '[[webhooks]]\nname = "chat"\nurl = "%s"\nformat = "slack"\n' % recv.url("/slack-ok") +
                receiver_toml("pseudo", recv.url("/ok-pseudo"), 'patient_id = "pseudonym"\n'))
        toml = toml.replace("/slack-ok", "/ok").replace("/ok-pseudo", "/ok")
        d, config = start_daemon(a, tmp, "seed", toml)
        try:
            send_seed(a, d, config, seed)
            wait_settled(a, d.db, config)
            test = h.cli(a.bin, "webhook", "test", "--config", config, "team")
            h.check(b"HTTP 200" in test.stdout, "webhook test: HTTP 200")
            out = h.cli(a.bin, "webhook", "test", "--config", config, "nosuch", check_rc=False)
            h.check(out.returncode == 2 and b"no [[webhooks]] receiver named 'nosuch'" in out.stderr,
                    "webhook test of an unknown receiver")
            out = h.cli(a.bin, "deliveries", "retry", "--config", config, "--db", d.db,
                        check_rc=False)
            h.check(out.returncode == 2 and b"give delivery ids, or --dead" in out.stderr,
                    "deliveries retry needs ids or --dead")
            out = h.cli(a.bin, "deliveries", "retry", "--config", config, "--db", d.db, "424242",
                        check_rc=False)
            h.check(out.returncode == 1 and b"0 dead deliveries queued again" in out.stdout,
                    "retry of an id that is not a dead delivery changes nothing")
        finally:
            h.check(d.stop() == 0, "seed daemon: clean stop")
        reqs = recv.requests("/ok")
        signed = [r for r in reqs if json.loads(r["body"]).get("type", "").startswith("alert.")]
        h.check(all(r["verified"] for r in signed), "every signed request verifies")
        h.check(not any(r["wrong_secret_verified"] for r in reqs), "a wrong secret never verifies")
        news = [json.loads(r["body"]) for r in signed if json.loads(r["body"])["type"] == "alert.new"]
        team_news = [n for n in news if n["id"].endswith("_team")]
        h.check(len(team_news) == 3, "exactly three alert.new to the json receiver: %d" %
                len(team_news))
        h.check(sorted(n["data"]["event_date"] for n in team_news) ==
                ["2013-07-10", "2015-06-10", "2016-12-15"], "the seed's three alerts")
        h.check(all(n["data"]["patient"] == {"id": "case-001"} for n in team_news),
                "patient_id = id: the identifier")
        pseudo = [r for r in reqs if r["id"].endswith("_pseudo")]
        h.check(pseudo and all("case-001" not in r["body"] for r in pseudo),
                "patient_id = pseudonym: the identifier never appears")
        slack = [json.loads(r["body"])["text"] for r in reqs if r["id"].endswith("_chat")]
        h.check(sum("progression alert #" in t or "residual alert #" in t for t in slack) >= 3 and
                any(t.startswith("*HIGH* AFP progression alert #1 new alert for patient case-001: "
                                 "AFP rising after metastasectomy") for t in slack),
                "readable Slack texts: %s" % slack[:1])
        h.check(any(json.loads(r["body"]).get("type") == "alert.test" and r["verified"] for r in reqs),
                "webhook test sends a signed alert.test")
        ids = [r["id"] for r in reqs]
        h.check(len(ids) == len(set(ids)), "each webhook-id delivered once")

        # 2. Default max_age_days (30): a backfill notifies no one, and the log says why.
        before = len(recv.requests())
        d, config = start_daemon(a, tmp, "backfill", receiver_toml("team", recv.url("/ok")))
        try:
            send_seed(a, d, config, seed)
            time.sleep(2)
            rows = deliveries(a, d.db, config)
        finally:
            d.stop()
        h.check(len(recv.requests()) == before, "backfill: nothing sent")
        h.check(rows and all(r["state"] == "skipped" and "max_age_days" in r["reason"] for r in rows),
                "backfill: deliveries logged as skipped with the reason")

        # 3. Receivers that misbehave, with a short schedule.
        short = 'events = ["new"]\nretry_schedule = [0, 1, 1, 1, 1, 1]\n'
        toml = "[notify]\nmax_age_days = 0\n" + "".join(
            receiver_toml(name, recv.url(path), short + extra) for name, path, extra in [
                ("fail2", "/fail/2", ""), ("limit", "/limit", ""), ("slow", "/slow", "timeout_s = 1\n"),
                ("reset", "/reset", ""), ("bad", "/bad", ""), ("gone", "/gone", ""),
                ("flap", "/flap", "")])
        d, config = start_daemon(a, tmp, "failures", toml)
        try:
            send_seed(a, d, config, seed)
            wait_settled(a, d.db, config, allow_pending=("gone",))
            rows = deliveries(a, d.db, config)
            by = {}
            for r in rows:
                by.setdefault(r["receiver"], []).append(r)
            for name in ("fail2", "limit", "slow", "reset", "flap"):
                h.check(len(by[name]) == 3 and all(r["state"] == "delivered" for r in by[name]),
                        "%s: all three delivered" % name)
            h.check(all(r["attempts"] == 3 and [x["http_status"] for x in r["attempt_log"]] ==
                        [500, 500, 200] for r in by["fail2"]), "fail2: 500, 500, then 200")
            for r in by["limit"]:
                t = [x["at"] for x in r["attempt_log"]]
                h.check([x["http_status"] for x in r["attempt_log"]] == [429, 200],
                        "limit: 429 then 200")
            lim = recv.requests("/limit")
            for wid in {x["id"] for x in lim}:
                ts = [int(x["timestamp"]) for x in lim if x["id"] == wid]
                h.check(ts[1] - ts[0] >= 2, "Retry-After: 2 honoured over the 1 s schedule")
            h.check(all(r["attempt_log"][0]["http_status"] == 0 and r["attempt_log"][0]["error"]
                        for r in by["slow"]), "slow: the first attempt timed out")
            # (libcurl itself resends once on a fresh connection when a reused one was reset, so
            # not every delivery sees the reset as a failed attempt.)
            h.check(any(r["attempt_log"][0]["http_status"] == 0 for r in by["reset"]),
                    "reset: an attempt got no answer and was retried")
            h.check(all(r["state"] == "dead" and r["attempts"] == 1 and "HTTP 400" in r["reason"]
                        for r in by["bad"]), "bad: dead after one 400")
            h.check(all(r["state"] == "pending" and "410" in r["reason"] for r in by["gone"]),
                    "gone: held, receiver disabled")
            # After the first 410 nothing more is sent (deliveries already in flight then may
            # still arrive, each once).
            gone_ids = [r["id"] for r in recv.requests("/gone")]
            h.check(1 <= len(gone_ids) <= 3 and len(gone_ids) == len(set(gone_ids)),
                    "gone: no delivery asked twice, then left alone: %s" % gone_ids)
            h.check("event=receiver_disabled receiver=gone" in d.log_text(), "410 logged clearly")
            out = h.cli(a.bin, "deliveries", "retry", "--config", config, "--db", d.db, "--dead",
                        "--receiver", "bad")
            h.check(b"3 dead deliveries queued again" in out.stdout, "retry --dead")
            wait_settled(a, d.db, config, allow_pending=("gone",))
            h.check(len(recv.requests("/bad")) == 6, "bad: retried once more each")
            table = h.cli(a.bin, "deliveries", "--config", config, "--db", d.db, "--state", "dead").stdout
            h.check(b"HTTP 400" in table and b"bad" in table, "deliveries table shows dead ones")
        finally:
            d.stop()
        # The disabled receiver resumes once its configuration changes (here: its URL).
        with open(config) as f:
            fixed = f.read().replace(recv.url("/gone"), recv.url("/ok"))
        with open(config, "w") as f:
            f.write(fixed)
        d.start()
        try:
            wait_settled(a, d.db, config)
            gone = [r for r in deliveries(a, d.db, config, "--receiver", "gone")]
            h.check(len(gone) == 3 and all(r["state"] == "delivered" for r in gone),
                    "gone: delivered after its configuration changed")
        finally:
            d.stop()
        # A de-duplicating receiver sees every event exactly once as delivered.
        for path in ("/fail/2", "/limit", "/slow", "/reset", "/flap"):
            ok = [r["id"] for r in recv.requests(path) if r["status"] == 200]
            h.check(len(ok) == 3 and len(set(ok)) == 3, "%s: each id answered 200 once" % path)

        # 4. kill -9 with deliveries pending (receiver down); after restart they arrive, same ids.
        down_port = free_port()
        later = Receiver(tmp, "later", down_port)
        toml = ("[notify]\nmax_age_days = 0\n" +
                receiver_toml("later", later.url("/ok"),
                              'events = ["new"]\nretry_schedule = [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n'))
        d, config = start_daemon(a, tmp, "restart", toml)
        send_seed(a, d, config, seed)
        pending = []

        def failed_attempts_recorded():
            pending[:] = deliveries(a, d.db, config, "--state", "pending")
            return len(pending) == 3 and all(p["attempts"] >= 1 for p in pending)

        h.check(h.wait_until(failed_attempts_recorded, interval=0.2),
                "receiver down: three pending after failed attempts (%s)" % pending)
        d.kill9()
        later.start()
        try:
            d.start()
            wait_settled(a, d.db, config)
            h.check(d.stop() == 0, "restarted daemon: clean stop")
            got = sorted(r["id"] for r in later.requests("/ok") if r["verified"])
            h.check(got == sorted(p["webhook_id"] for p in pending),
                    "after kill -9 and restart: delivered under the same ids")
        finally:
            later.stop()
        # 4b. kill -9 with requests in flight (the receiver holds the first request of each id):
        # after restart each is sent again under the same id and answered once.
        d, config, before = start_with_held_requests(a, tmp, recv, seed, "held")
        held = deliveries(a, d.db, config, "--receiver", "held")
        h.check(all(r["state"] == "pending" and r["attempts"] == 0 for r in held),
                "three requests in flight, none recorded yet")
        d.kill9()
        d.start()
        try:
            wait_settled(a, d.db, config)
            held = deliveries(a, d.db, config, "--receiver", "held")
        finally:
            h.check(d.stop() == 0, "in-flight restart: clean stop")
        h.check(all(r["state"] == "delivered" for r in held), "in flight at kill -9: delivered after")
        answered = [r["id"] for r in recv.requests("/slow")[before:]
                    if r["id"].endswith("_held") and r["status"] == 200]
        h.check(sorted(answered) == sorted(r["webhook_id"] for r in held),
                "the same webhook-ids, each answered once")

        # 4c. SIGTERM with requests in flight: the daemon waits for their answers (the receiver
        # holds each for 5 s), records them through its writer, then closes the database.
        d, config, before = start_with_held_requests(a, tmp, recv, seed, "term")
        stopping = time.time()
        h.check(d.stop() == 0, "SIGTERM with requests in flight: clean stop")
        h.check(time.time() - stopping >= 2, "the stop waited for the requests in flight")
        term = deliveries(a, d.db, config, "--receiver", "term")
        h.check(len(term) == 3 and all(r["state"] == "delivered" and r["attempts"] == 1
                                       for r in term),
                "in flight at SIGTERM: answered, and recorded before the database closed")
        sent = [r["id"] for r in recv.requests("/slow")[before:] if r["id"].endswith("_term")]
        h.check(sorted(sent) == sorted(r["webhook_id"] for r in term), "each sent once")

        # 5. renotify_after: an open high-severity alert is sent again while nobody resolves it.
        toml = ('[notify]\nmax_age_days = 0\nrenotify_after = "2s"\n' +
                receiver_toml("pager", recv.url("/ok"), 'events = ["new"]\n'))
        d, config = start_daemon(a, tmp, "renotify", toml)
        try:
            results = os.path.join(tmp, "rising.csv")
            with open(results, "w") as f:
                f.write("patient_id,marker,collected_at,value,unit\n" + "".join(
                    "p-rise,AFP,%s,%s,ng/mL\n" % row for row in [
                        ("2019-12-20", "100"), ("2020-02-01", "20"), ("2020-03-01", "40"),
                        ("2020-04-01", "80"), ("2020-04-15", "90")]))
            milestones = os.path.join(tmp, "tace.csv")
            with open(milestones, "w") as f:
                f.write("patient_id,kind,date\np-rise,tace,2020-01-01\n")
            h.cli(a.bin, "import", "--config", config, "--db", d.db, milestones, results)

            def pager_sent():
                return [json.loads(r["body"]) for r in recv.requests("/ok") if r["id"].endswith("_pager")]

            # At least a renotify period past the first, longer on a slow machine.
            time.sleep(3)
            h.wait_until(lambda: "alert.renotify" in [p["type"] for p in pager_sent()], timeout=30,
                         interval=0.2)
        finally:
            d.stop()
        pager = pager_sent()
        types = [p["type"] for p in pager]
        h.check(types.count("alert.new") == 1 and types.count("alert.renotify") >= 1,
                "renotify: the open high alert is sent again: %s" % types)
        h.check(all(p["data"]["severity"] == "high" and p["data"]["state"] == "open"
                    for p in pager), "renotify carries the alert's current state")
        h.check(re.search(r"event=renotify_queued deliveries=[1-9]", d.log_text()) is not None,
                "the committed re-notification is logged")

        # 6. A reload (SIGHUP) changes the receivers while the daemon runs: one disabled by a 410
        # resumes once its URL changed, a new one gets the alerts raised after the reload, and
        # the one removed gets none of them.
        new_only = 'events = ["new"]\n'
        before = {"team": receiver_toml("team", recv.url("/ok"), new_only),
                  "gone": receiver_toml("gone", recv.url("/gone"), new_only)}
        d, config = start_daemon(a, tmp, "reload", "[notify]\nmax_age_days = 0\n" +
                                 before["team"] + before["gone"])
        try:
            send_seed(a, d, config, seed)
            h.check(h.wait_until(lambda: "event=receiver_disabled receiver=gone" in d.log_text()),
                    "reload: gone answered 410 and is disabled")
            wait_settled(a, d.db, config, allow_pending=("gone",))
            with open(config) as f:
                text = f.read()
            text = text.replace(before["team"], "").replace(recv.url("/gone"), recv.url("/ok"))
            with open(config, "w") as f:
                f.write(text + receiver_toml("added", recv.url("/ok"), new_only))
            d.proc.send_signal(signal.SIGHUP)
            h.check(h.wait_until(lambda: "event=config_reloaded" in d.log_text()),
                    "reload: SIGHUP with new receivers is taken up, not refused")
            h.check(h.wait_until(lambda: "event=receiver_enabled receiver=gone" in d.log_text()),
                    "reload: gone, its URL changed, is enabled")
            send_seed(a, d, config, seed, patient="case-002")
            wait_settled(a, d.db, config)
            rows = deliveries(a, d.db, config)
        finally:
            h.check(d.stop() == 0, "reload daemon: clean stop")
        by = {}
        for r in rows:
            by.setdefault(r["receiver"], []).append(r)
        h.check(sorted(by) == ["added", "gone", "team"], "reload: receivers %s" % sorted(by))
        h.check(len(by["team"]) == 3 and all(r["state"] == "delivered" for r in by["team"]),
                "reload: team got the first patient's three alerts, and nothing after its removal")
        h.check(len(by["gone"]) == 6 and all(r["state"] == "delivered" for r in by["gone"]),
                "reload: gone delivered its three held alerts and the second patient's three")
        h.check(len(by["added"]) == 3 and all(r["state"] == "delivered" for r in by["added"]),
                "reload: added got the second patient's three alerts")
        sent = [json.loads(r["body"]) for r in recv.requests("/ok") if r["id"].endswith("_added")]
        h.check(len(sent) == 3 and all(n["data"]["patient"] == {"id": "case-002"} for n in sent),
                "reload: added's requests are the second patient's")
        h.check(all(r["verified"] for r in recv.requests("/ok") if r["id"].endswith("_added")),
                "reload: signed with the receiver's secret")
    finally:
        recv.stop()


if __name__ == "__main__":
    h.run(main)
