#!/usr/bin/env python3
"""LMTP throughput: `letterbox lmtp` vs Dovecot 2.3's LMTP, next to the disk's ceiling.

For 1, 2 and 8 concurrent connections, each connection delivers messages one transaction at a
time (MAIL, RCPT, DATA) into one user's Maildir INBOX. Both servers listen on unix sockets in
the same run, with the same passwd-file user, the same `mail_location` and the same message.
The ceiling is what the disk allows for the same work without any server: as many threads
each writing a file of the stored size, fsync()ing it, renaming it into new/ and fsync()ing
the directory (Maildir's durable save). Prints messages/s and the ratios
letterbox/dovecot and letterbox/ceiling.

Each connection count is measured in --rounds interleaved rounds (letterbox, Dovecot and the
ceiling in rotating order); the table shows median rates and the median of the per-round
ratios. On this kind of VM (ext4 without a journal) file creation slows down for minutes after
inodes were freed nearby (the allocator skips recently deleted inodes), so runs minutes apart
differ by up to 2x; rounds keep each comparison within one state of the disk.

Then the 10,000-message check: 10,000 messages over 8 connections to letterbox, after which
every message must be in new/ and every UID in dovecot-uidlist must be unique.

Usage: bench/lmtp_compare.py [--messages 400] [--size 3000] [--check 10000] [--rounds 3]
Needs root (Dovecot's lmtp switches to the user; letterbox drops to mail_uid), python3,
Debian's dovecot-core + dovecot-lmtpd and `cargo build --release -p letterbox -p lmtp-load`
(the load generator). LETTERBOX=path and LMTP_LOAD=path override the binaries (default:
target/release/, or $CARGO_TARGET_DIR/release/).
"""

import argparse
import atexit
import os
import shutil
import statistics
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
LETTERBOX = os.environ.get("LETTERBOX", os.path.join(TARGET, "release", "letterbox"))
LOAD = os.environ.get("LMTP_LOAD", os.path.join(TARGET, "release", "lmtp-load"))
DOVECOT = os.environ.get("LETTERBOX_DOVECOT", "/usr/sbin/dovecot")
UID = GID = 65534


def message(size):
    head = (
        "From: Alice <alice@example.com>\r\nTo: bench@example.com\r\nSubject: benchmark\r\n"
        "Message-ID: <bench@example.com>\r\nDate: Wed, 25 Nov 2026 10:00:00 +0000\r\n\r\n"
    )
    line = "The quick brown fox jumps over the lazy dog, again and again and again.\r\n"
    return (head + line * max(1, (size - len(head)) // len(line))).encode()


MESSAGE_FILES = {}


def run_clients(path, connections, per_connection, data):
    """messages/s of `connections` concurrent LMTP sessions, each delivering `data`
    `per_connection` times (crates/lmtp-load: a Rust client, so that the load generator takes
    little of the CPUs it shares with the server; every reply is checked)."""
    msg = MESSAGE_FILES.get(data)
    if msg is None:
        fd, msg = tempfile.mkstemp(prefix="lb-lmtp-load-", suffix=".eml")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        MESSAGE_FILES[data] = msg
        atexit.register(os.unlink, msg)
    try:
        out = subprocess.run([LOAD, path, str(connections), str(per_connection), msg],
                             check=True, capture_output=True, text=True)
    except subprocess.CalledProcessError as e:
        raise RuntimeError(f"lmtp-load failed: {e.stderr.strip()}") from e
    return float(out.stdout.strip())


def disk_ceiling(base, threads, per_thread, size):
    """fsync'd Maildir-like saves (write, fsync, rename into new/, fsync dir) by N threads."""
    d = tempfile.mkdtemp(dir=base, prefix="ceiling-")
    for sub in ("tmp", "new"):
        os.mkdir(os.path.join(d, sub))
    payload = b"x" * size

    def worker(n):
        newdir = os.open(os.path.join(d, "new"), os.O_RDONLY)
        for i in range(per_thread):
            # Names of Maildir's shape and length: directory lookups cost the same as for
            # the servers' files.
            name = f"{int(time.time())}.M{i:06d}P{os.getpid()}_{n}.{socket.gethostname()},S={size},W={size + 64}"
            tmp = os.path.join(d, "tmp", name)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.write(fd, payload)
            os.fsync(fd)
            os.close(fd)
            os.rename(tmp, os.path.join(d, "new", name))
            os.fsync(newdir)
        os.close(newdir)

    ts = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    start = time.monotonic()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return threads * per_thread / (time.monotonic() - start)


class World:
    """Config, passwd and the homes of both servers under a temp dir.

    Every run gets a NEW home and nothing is deleted before the end: on ext4 (notably without
    a journal) file creation slows down for a while after many inodes were freed nearby, so
    deleting the previous run's Maildir would handicap whichever server runs next."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="lb-lmtp-bench-")
        os.chmod(self.dir, 0o755)
        self.homes = {}
        self.runs = 0

    def fresh_home(self, name):
        self.runs += 1
        home = os.path.join(self.dir, f"home-{name}-{self.runs}")
        os.mkdir(home)
        os.chown(home, UID, GID)
        self.homes[name] = home
        with open(os.path.join(self.dir, f"passwd-{name}"), "w") as f:
            f.write(f"bench:x:{UID}:{GID}::{home}::\n")

    def common(self, name):
        return (
            "mail_location = maildir:~/Maildir\n"
            "first_valid_uid = 1\n"
            f"userdb {{\n  driver = passwd-file\n  args = {self.dir}/passwd-{name}\n}}\n"
        )


def start_letterbox(world):
    conf = os.path.join(world.dir, "letterbox.conf")
    with open(conf, "w") as f:
        f.write(world.common("letterbox"))
        f.write(f"log_path = {world.dir}/letterbox.log\nmail_uid = {UID}\nmail_gid = {GID}\n")
    sock = os.path.join(world.dir, "letterbox.sock")
    proc = subprocess.Popen([LETTERBOX, "lmtp", "-c", conf, "--listen", "unix:" + sock])
    wait_socket(sock)
    return proc, sock


def start_dovecot(world):
    d = world.dir
    conf = os.path.join(d, "dovecot.conf")
    with open(conf, "w") as f:
        f.write(world.common("dovecot"))
        f.write(
            f"base_dir = {d}/run\nstate_dir = {d}/state\nlog_path = {d}/dovecot.log\n"
            "protocols = lmtp\nssl = no\ndefault_internal_user = nobody\n"
            "default_login_user = nobody\ndefault_internal_group = nogroup\n"
            f"passdb {{\n  driver = passwd-file\n  args = {d}/passwd-dovecot\n}}\n"
            "service lmtp {\n  unix_listener lmtp {\n    mode = 0666\n  }\n}\n"
        )
    proc = subprocess.Popen([DOVECOT, "-F", "-c", conf])
    sock = os.path.join(d, "run", "lmtp")
    wait_socket(sock)
    return proc, sock


def wait_socket(path):
    for _ in range(400):
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            s.close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"no server on {path}")


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def check_10k(world, total):
    world.fresh_home("letterbox")
    proc, sock = start_letterbox(world)
    data = message(3000)
    try:
        rate = run_clients(sock, 8, total // 8, data)
    finally:
        stop(proc)
    inbox = os.path.join(world.homes["letterbox"], "Maildir")
    files = os.listdir(os.path.join(inbox, "new")) + os.listdir(os.path.join(inbox, "cur"))
    with open(os.path.join(inbox, "dovecot-uidlist")) as f:
        uids = [int(line.split(" ", 1)[0]) for line in f.read().splitlines()[1:]]
    ok = len(files) == total and len(uids) == total and len(set(uids)) == total
    print(f"\n10k check: {total} messages over 8 connections at {rate:.0f} msg/s: "
          f"{len(files)} files, {len(uids)} uidlist records, {len(set(uids))} unique UIDs "
          f"-> {'OK' if ok else 'FAILED'}")
    return ok


# The order of the three measurements in successive rounds, so that none always runs first.
ROUND_ORDERS = [
    ("letterbox", "dovecot", "ceiling"),
    ("ceiling", "letterbox", "dovecot"),
    ("dovecot", "ceiling", "letterbox"),
]


def server_rate(world, name, conns, per, data):
    """messages/s of one server, in a new home, after a short warm-up."""
    start = start_letterbox if name == "letterbox" else start_dovecot
    world.fresh_home(name)
    proc, sock = start(world)
    try:
        run_clients(sock, conns, 5, data)  # warm up (mailbox creation, caches)
        return run_clients(sock, conns, per, data)
    finally:
        stop(proc)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=400, help="messages per connection count")
    ap.add_argument("--size", type=int, default=3000)
    ap.add_argument("--check", type=int, default=10000)
    ap.add_argument("--rounds", type=int, default=3,
                    help="interleaved rounds of letterbox, dovecot and ceiling per connection count")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root (both servers deliver as uid 65534)")
    for tool in (LETTERBOX, LOAD, DOVECOT):
        if not os.path.exists(tool):
            sys.exit(f"missing {tool} (cargo build --release -p letterbox -p lmtp-load; "
                     "apt-get install dovecot-core dovecot-lmtpd)")
    world = World()
    data = message(args.size)
    stored = len(data) + 250  # trace headers, LF line ends: roughly the stored size
    print(f"{'conns':>5} {'letterbox':>10} {'dovecot':>9} {'ceiling':>9} "
          f"{'lb/dovecot':>10} {'lb/ceiling':>10}")
    for conns in (1, 2, 8):
        per = max(1, args.messages // conns)
        rounds = {"letterbox": [], "dovecot": [], "ceiling": []}
        for r in range(args.rounds):
            for name in ROUND_ORDERS[r % len(ROUND_ORDERS)]:
                if name == "ceiling":
                    rounds[name].append(disk_ceiling(world.dir, conns, per, stored))
                else:
                    rounds[name].append(server_rate(world, name, conns, per, data))
        lb, dc, ceiling = (statistics.median(rounds[k]) for k in ("letterbox", "dovecot", "ceiling"))
        # Per-round ratios: each round's three runs saw the same disk and file-system state.
        to_dc = statistics.median(a / b for a, b in zip(rounds["letterbox"], rounds["dovecot"]))
        to_ceiling = statistics.median(a / b for a, b in zip(rounds["letterbox"], rounds["ceiling"]))
        print(f"{conns:>5} {lb:>10.0f} {dc:>9.0f} {ceiling:>9.0f} {to_dc:>10.2f} "
              f"{to_ceiling:>10.2f}")
        sys.stdout.flush()
    ok = check_10k(world, args.check) if args.check else True
    shutil.rmtree(world.dir, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
