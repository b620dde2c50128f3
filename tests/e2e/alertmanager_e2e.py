"""The `alertmanager` webhook format against a real Prometheus Alertmanager (Debian package
prometheus-alertmanager, started here on loopback): the seed case's three alerts appear in its
API with markerwatch's labels, and no patient identifier when patient_id = "none"."""
import json
import os
import subprocess
import time
import urllib.request

import harness as h
from webhooks_e2e import free_port, send_seed, start_daemon, wait_settled

AM_CONFIG = 'route:\n  receiver: "null"\nreceivers:\n  - name: "null"\n'


def main(a, tmp):
    port = free_port()
    with open(os.path.join(tmp, "am.yml"), "w") as f:
        f.write(AM_CONFIG)
    am = subprocess.Popen(["prometheus-alertmanager", "--config.file=" + os.path.join(tmp, "am.yml"),
                           "--storage.path=" + os.path.join(tmp, "am-data"),
                           "--web.listen-address=127.0.0.1:%d" % port,
                           "--cluster.listen-address="],
                          stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "am.log"), "wb"))
    try:
        api = "http://127.0.0.1:%d/api/v2" % port
        deadline = time.time() + 30
        while True:
            try:
                urllib.request.urlopen(api + "/status", timeout=2).read()
                break
            except OSError:
                if time.time() > deadline:
                    raise h.Failure("alertmanager did not start")
                time.sleep(0.3)
        toml = ('[notify]\nmax_age_days = 0\n[[webhooks]]\nname = "ops"\nurl = "%s/alerts"\n'
                'format = "alertmanager"\nevents = ["new"]\npatient_id = "none"\n' % api)
        d, config = start_daemon(a, tmp, "am", toml)
        try:
            send_seed(a, d, config, os.path.join(a.shared, "seed"))
            wait_settled(a, d.db, config)
            rows = json.loads(h.cli(a.bin, "deliveries", "--config", config, "--db", d.db,
                                    "--format", "json").stdout)
        finally:
            d.stop()
        h.check(len(rows) == 3 and all(r["state"] == "delivered" and r["last_status"] == 200
                                       for r in rows), "three deliveries accepted by Alertmanager")
        alerts = json.loads(urllib.request.urlopen(api + "/alerts", timeout=5).read())
        mine = [x for x in alerts if x["labels"].get("source") == "markerwatch"]
        names = sorted(x["labels"]["alertname"] for x in mine)
        h.check(names == ["markerwatch_progression", "markerwatch_progression",
                          "markerwatch_residual"], "the three alerts in Alertmanager: %s" % names)
        h.check(all(x["labels"]["marker"] == "AFP" and x["labels"]["severity"] == "high"
                    for x in mine), "labels: marker and severity")
        h.check(all("patient" not in x["labels"] and "case-001" not in json.dumps(x) for x in mine),
                "patient_id = none: no identifier reaches Alertmanager")
        h.check(any("AFP rising after metastasectomy" in x["annotations"]["summary"] for x in mine),
                "the summary as an annotation")
    finally:
        am.kill()
        am.wait()


if __name__ == "__main__":
    h.run(main)
