#!/usr/bin/env python3
"""Index files at delivery (issue 7): what they save Dovecot when the user next opens the box.

N deliveries of the same 3 KB message into one Maildir, three times:

  letterbox        letterbox writing dovecot.index.log + dovecot.index.cache
  dovecot-lda      Dovecot 2.3's own LDA
  letterbox-noidx  letterbox with `mail_location = maildir:~/Maildir:INDEX=MEMORY` (no index)

then, for each Maildir, the time Dovecot needs to open and sync it, on two fresh copies:
`doveadm mailbox status messages unseen INBOX` and an IMAP session (`SELECT INBOX`,
`FETCH 1:* (FLAGS)`) through /usr/lib/dovecot/imap in preauth mode. Dovecot always reads with
the ordinary on-disk index config. Also prints the per-delivery wall time (median, mean) of
letterbox and dovecot-lda, interleaved so disk and cache state affect both alike, and checks
that Dovecot's log has no index complaint and that every letterbox delivery wrote its APPEND.

Usage: bench/index_compare.py [--count 10000] [--letterbox PATH] [--repeat 3] [--keep]
       bench/index_compare.py --reuse KEPT_DIR   (only the open timings, on a kept run)
Run as root (everything runs as `nobody` through setpriv) or as a normal user.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOVECOT_LDA = os.environ.get("DOVECOT_LDA", "/usr/lib/dovecot/dovecot-lda")
DOVEADM = os.environ.get("DOVEADM", "/usr/bin/doveadm")
IMAP = os.environ.get("DOVECOT_IMAP", "/usr/lib/dovecot/imap")
IS_ROOT = os.geteuid() == 0
UID, GID = (65534, 65534) if IS_ROOT else (os.getuid(), os.getgid())
IMPLS = ("letterbox", "dovecot-lda", "letterbox-noidx")


def message(size=3000):
    head = (
        "From: Alice <alice@example.com>\nTo: bob@example.com\nSubject: benchmark\n"
        "Message-ID: <bench@example.com>\nDate: Wed, 25 Nov 2026 10:00:00 +0000\n\n"
    )
    line = "The quick brown fox jumps over the lazy dog, again and again and again.\n"
    return (head + line * max(1, (size - len(head)) // len(line))).encode()


class World:
    """A temp dir with two configs (on-disk index, INDEX=MEMORY) and one home per impl."""

    def __init__(self, letterbox):
        self.letterbox = letterbox
        self.dir = tempfile.mkdtemp(prefix="lb-index-bench-")
        os.chmod(self.dir, 0o1777)
        self.conf = self._conf("dovecot.conf", "maildir:~/Maildir")
        self.conf_mem = self._conf("memory.conf", "maildir:~/Maildir:INDEX=MEMORY")
        self.homes = {}
        for impl in IMPLS:
            self.homes[impl] = self.new_home(impl)

    @classmethod
    def reuse(cls, path, letterbox):
        world = cls.__new__(cls)
        world.letterbox, world.dir = letterbox, path
        world.conf = os.path.join(path, "dovecot.conf")
        world.conf_mem = os.path.join(path, "memory.conf")
        world.homes = {impl: os.path.join(path, impl) for impl in IMPLS}
        return world

    def _conf(self, name, location):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(f"mail_location = {location}\nlog_path = {self.dir}/shared.log\n")
        os.chmod(path, 0o644)
        return path

    def new_home(self, name):
        home = os.path.join(self.dir, name)
        os.mkdir(home)
        if IS_ROOT:
            os.chown(home, UID, GID)
        return home

    def run_as_user(self, home, args, stdin=None, capture=False):
        if IS_ROOT:
            args = ["setpriv", f"--reuid={UID}", f"--regid={GID}", "--clear-groups"] + args
        env = {"HOME": home, "USER": "nobody" if IS_ROOT else os.environ.get("USER", "u"),
               "PATH": "/usr/bin:/bin"}
        return subprocess.run(args, env=env, stdin=stdin, capture_output=capture, check=False)

    def deliver_args(self, impl):
        log = os.path.join(self.dir, f"{impl}.log")
        if impl == "dovecot-lda":
            return [DOVECOT_LDA, "-c", self.conf, "-o", f"log_path={log}"]
        conf = self.conf_mem if impl == "letterbox-noidx" else self.conf
        return [self.letterbox, "deliver", "-c", conf, "-o", f"log_path={log}"]


def deliver_all(world, count, msg_path):
    times = {impl: [] for impl in IMPLS}
    for i in range(count):
        order = IMPLS if i % 2 == 0 else tuple(reversed(IMPLS))
        for impl in order:
            args = world.deliver_args(impl)
            with open(msg_path, "rb") as stdin:
                start = time.perf_counter()
                done = world.run_as_user(world.homes[impl], args, stdin=stdin)
                times[impl].append(time.perf_counter() - start)
            if done.returncode != 0:
                sys.exit(f"{impl} delivery {i} exited {done.returncode}")
        if (i + 1) % 1000 == 0:
            print(f"  {i + 1} deliveries each", flush=True)
    return times


def copy_home(world, impl, purpose):
    src = world.homes[impl]
    dest = os.path.join(world.dir, f"{impl}-{purpose}")
    shutil.copytree(src, dest, symlinks=True)
    if IS_ROOT:
        subprocess.run(["chown", "-R", f"{UID}:{GID}", dest], check=True)
    return dest


def timed_open(world, home, how):
    """Dovecot opening and syncing the mailbox; (seconds, output)."""
    log = os.path.join(world.dir, "reader.log")
    if how == "status":
        args = [DOVEADM, "-c", world.conf, "-o", f"log_path={log}", "mailbox", "status",
                "messages unseen", "INBOX"]
        stdin = None
    else:
        args = [IMAP, "-c", world.conf, "-o", f"log_path={log}"]
        stdin = subprocess.PIPE
    subprocess.run(["sync"], check=True)
    start = time.perf_counter()
    if stdin is None:
        out = world.run_as_user(home, args, capture=True)
    else:
        out = imap_session(home, args)
    elapsed = time.perf_counter() - start
    text = out.stdout.decode(errors="replace")
    if out.returncode != 0 or (how == "imap" and "b OK" not in text):
        sys.exit(f"{how} failed in {home}: {text[-500:]} {out.stderr[-500:]!r}")
    summary = text.strip() if how == "status" else f"{text.count(' FETCH (')} FETCH lines"
    return elapsed, summary


def imap_session(home, args):
    """SELECT + FETCH, keeping stdin open until the server has answered LOGOUT (imap stops
    writing when its input ends)."""
    if IS_ROOT:
        args = ["setpriv", f"--reuid={UID}", f"--regid={GID}", "--clear-groups"] + args
    env = {"HOME": home, "USER": "nobody" if IS_ROOT else os.environ.get("USER", "u"),
           "PATH": "/usr/bin:/bin"}
    proc = subprocess.Popen(args, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdin.write(b"a SELECT INBOX\r\nb FETCH 1:* (FLAGS)\r\nc LOGOUT\r\n")
    proc.stdin.flush()
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith(b"c "):
            break
    rest, err = proc.communicate()
    return subprocess.CompletedProcess(args, proc.returncode, b"".join(lines) + rest, err)


def appends_in_log(home):
    """APPENDs in the current log, plus the messages dovecot.index + log tail hold (the log is
    rotated and the snapshot rewritten along the way, so the log alone holds only the last
    ones)."""
    log = os.path.join(home, "Maildir", "dovecot.index.log")
    if not os.path.exists(log):
        return 0
    out = subprocess.run([DOVEADM, "dump", log], capture_output=True, text=True, check=False)
    appends = sum(1 for line in out.stdout.splitlines() if "type=append" in line)
    index = os.path.join(home, "Maildir", "dovecot.index")
    if not os.path.exists(index):
        return f"{appends} (no dovecot.index)"
    out = subprocess.run([DOVEADM, "dump", index], capture_output=True, text=True, check=False)
    count = next((l.split("=")[1].strip() for l in out.stdout.splitlines()
                  if l.startswith("messages count")), "?")
    return f"{appends} in the current log; dovecot.index + log tail: {count} messages"


def complaints(world):
    bad = ("error", "corrupt", "rebuild", "fatal", "panic", "warning")
    out = []
    for name in os.listdir(world.dir):
        if name.endswith(".log"):
            with open(os.path.join(world.dir, name), errors="replace") as f:
                out += [f"{name}: {l.rstrip()}" for l in f if any(w in l.lower() for w in bad)]
    return out


def deliver_and_report(world, count):
    msg_path = os.path.join(world.dir, "msg.eml")
    with open(msg_path, "wb") as f:
        f.write(message())
    print(f"{count} deliveries into one Maildir per implementation ({world.dir})", flush=True)
    start = time.perf_counter()
    times = deliver_all(world, count, msg_path)
    print(f"delivered in {time.perf_counter() - start:.0f} s", flush=True)
    print("\nper delivery (wall, one process each):")
    for impl in IMPLS:
        t = times[impl]
        print(f"  {impl:16} median {statistics.median(t) * 1000:7.2f} ms  "
              f"mean {statistics.mean(t) * 1000:7.2f} ms")
    ratio = statistics.median(times["letterbox"]) / statistics.median(times["dovecot-lda"])
    print(f"  letterbox / dovecot-lda (median): {ratio:.3f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--letterbox", default=os.path.join(ROOT, "target", "release", "letterbox"))
    parser.add_argument("--keep", action="store_true", help="keep the temp dir")
    parser.add_argument("--repeat", type=int, default=3, help="fresh copies per open timing")
    parser.add_argument("--reuse", help="a kept temp dir: skip the deliveries, time the opens")
    opts = parser.parse_args()
    for prog in (opts.letterbox, DOVECOT_LDA, DOVEADM, IMAP):
        if not os.path.exists(prog):
            sys.exit(f"missing {prog}")
    world = World.reuse(opts.reuse, opts.letterbox) if opts.reuse else World(opts.letterbox)
    if not opts.reuse:
        deliver_and_report(world, opts.count)
    print("\nindexed messages before Dovecot opened the box:")
    for impl in IMPLS:
        print(f"  {impl:16} {appends_in_log(world.homes[impl])}")
    print(f"\nDovecot opening + syncing the mailbox (median of {opts.repeat} fresh copies):")
    for how in ("status", "imap"):
        for impl in IMPLS:
            firsts, seconds = [], []
            for i in range(opts.repeat):
                home = copy_home(world, impl, f"{how}{i}")
                elapsed, summary = timed_open(world, home, how)
                again, _ = timed_open(world, home, how)
                firsts.append(elapsed)
                seconds.append(again)
                shutil.rmtree(home, ignore_errors=True)
            print(f"  {how:6} {impl:16} first {statistics.median(firsts) * 1000:8.1f} ms  "
                  f"second {statistics.median(seconds) * 1000:7.1f} ms  ({summary})", flush=True)
    found = complaints(world)
    print("\nindex complaints in Dovecot's logs:", "none" if not found else "")
    for line in found[:20]:
        print("  " + line)
    if opts.keep:
        print(f"kept {world.dir}")
    else:
        shutil.rmtree(world.dir, ignore_errors=True)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
