"""The seed case imported with `markerwatch import` and, converted to ORU^R01 messages, sent over
MLLP with mllp_send (in file order and shuffled): the stored results are identical."""
import csv
import os
import random

import harness as h

CONFIG = '[ingest]\ndefault_timezone = "UTC"\n[markers.PIVKA-II]\nlocal_codes = ["L|DCP"]\n'
CODES = {"AFP": "1834-1^Alpha-1-Fetoprotein^LN", "PIVKA-II": "DCP^PIVKA-II^L"}


def to_oru(i, row):
    value = row["value"]
    if value[0] in "<>":
        cmp = value[:2] if value[1] == "=" else value[0]
        obx5, vtype = "%s^%s" % (cmp, value[len(cmp):]), "SN"
    else:
        obx5, vtype = value, "NM"
    date = row["collected_at"].replace("-", "")
    obx = "OBX|1|%s|%s|1|%s|%s|||||F|||%s" % (vtype, CODES[row["marker"]], obx5, row["unit"], date)
    return h.oru("SEED-%03d" % i, row["patient_id"], [obx], collected=date).replace(
        b"^^^HOSP^MR", b"")


def stored(a, db, config):
    rows = []
    for marker in ("AFP", "PIVKA-II"):
        for r in h.results_json(a.bin, db, "case-001", marker, config=config):
            rows.append((r["marker"], r["collected_date"], r["value"], r["comparator"], r["unit"],
                         r["status"], r["effective"], r["method"], r["uln"]))
    return sorted(rows)


def import_seed(a, tmp, db_name):
    """The seed case's results and milestones imported with the CLI into tmp/db_name, under the
    CLI config CONFIG (written to tmp/cli.toml). Returns (config path, database path, the
    import's output)."""
    seed = os.path.join(a.shared, "seed")
    config = os.path.join(tmp, "cli.toml")
    with open(config, "w") as f:
        f.write(CONFIG)
    db = os.path.join(tmp, db_name)
    out = h.cli(a.bin, "import", "--config", config, "--db", db,
                os.path.join(seed, "results.csv"), os.path.join(seed, "milestones.csv"))
    return config, db, out


def main(a, tmp):
    seed = os.path.join(a.shared, "seed")
    config, imported_db, out = import_seed(a, tmp, "imported.db")
    h.check(b"results: 34 stored, 0 unchanged, 0 rejected" in out.stdout, "34 results imported")
    h.check(b"milestones: 11 stored" in out.stdout, "11 milestones imported")
    again = h.cli(a.bin, "import", "--config", config, "--db", imported_db, os.path.join(seed, "results.csv"))
    h.check(b"0 stored, 1 unchanged, 0 rejected" in again.stdout, "re-import changes nothing")
    expected = stored(a, imported_db, config)
    h.check(len(expected) == 34, "34 stored results")

    rows = list(csv.DictReader(open(os.path.join(seed, "results.csv"))))
    messages = [to_oru(i, r) for i, r in enumerate(rows)]
    for name, order in (("file-order", list(range(len(rows)))),
                        ("shuffled", random.Random(2016).sample(range(len(rows)), len(rows)))):
        sub = os.path.join(tmp, name)
        os.mkdir(sub)
        d = h.Daemon(a.bin, sub, CONFIG).start()
        try:
            path = os.path.join(sub, "seed.mllp")
            with open(path, "wb") as f:
                f.write(b"".join(h.frame(messages[i]) for i in order))
            acks = h.mllp_send(d.port, path)
            h.check([c for c, _, _ in acks] == ["AA"] * 34, "%s: 34 AA over MLLP" % name)
        finally:
            h.check(d.stop() == 0, "%s: clean stop" % name)
        got = stored(a, d.db, config)
        h.check(got == expected, "%s: stored results identical to the CSV import" % name)


if __name__ == "__main__":
    h.run(main)
