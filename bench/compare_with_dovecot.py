#!/usr/bin/env python3
"""Side-by-side delivery benchmark: letterbox vs Dovecot 2.3's dovecot-lda.

One process per delivery, as an MTA runs it; both run as the same unprivileged user in HOME
mode with the same config and message, interleaved (ours, theirs, ours, ...) so that disk and
cache state affect both alike. Prints per-delivery wall time and peak RSS for each and the
ratio letterbox/dovecot. Scenarios (issue #2's acceptance list):

  empty     3 KB message into an empty Maildir
  big       the same message into a Maildir already holding N messages that Dovecot knows
            (uidlist and index built by doveadm)
  huge      one 50 MB message (time and peak RSS)
  mbox      letterbox into an empty mbox vs into a 1 GB mbox (cost must not grow with size)
  sieve     the 3 KB message through bench/rules30.sieve (30 rules, none filing it, a vacation
            that does not fire), compiled cache warm and cold, compared with plain delivery
            and with dovecot-lda + Pigeonhole, all five variants interleaved

Usage: bench/compare_with_dovecot.py [--runs 200] [--big 50000] [--huge-mb 50] [--only NAME]
Run as root (the deliveries run as `nobody` through setpriv) or as a normal user.
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
LETTERBOX = os.path.join(ROOT, "target", "release", "letterbox")
DOVECOT_LDA = os.environ.get("DOVECOT_LDA", "/usr/lib/dovecot/dovecot-lda")
DOVEADM = os.environ.get("DOVEADM", "/usr/bin/doveadm")
IS_ROOT = os.geteuid() == 0
UID, GID = (65534, 65534) if IS_ROOT else (os.getuid(), os.getgid())


def message(size):
    head = (
        "From: Alice <alice@example.com>\nTo: bob@example.com\nSubject: benchmark\n"
        "Message-ID: <bench@example.com>\nDate: Wed, 25 Nov 2026 10:00:00 +0000\n\n"
    )
    line = "The quick brown fox jumps over the lazy dog, again and again and again.\n"
    body = line * max(1, (size - len(head)) // len(line))
    return (head + body).encode()


class World:
    """A temp dir with a config and two homes (one per implementation)."""

    def __init__(self, name, sieve=None):
        self.dir = tempfile.mkdtemp(prefix=f"lb-bench-{name}-")
        os.chmod(self.dir, 0o1777)
        self.conf = os.path.join(self.dir, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write("mail_location = maildir:~/Maildir\n")
            f.write(f"log_path = {self.dir}/shared.log\n")
            if sieve:
                f.write("mail_plugins = sieve\nplugin {\n  sieve = file:~/sieve;active=~/.dovecot.sieve\n}\n")
        os.chmod(self.conf, 0o644)
        self.homes = {}
        for impl in ("letterbox", "dovecot"):
            home = os.path.join(self.dir, impl)
            os.mkdir(home)
            if sieve:
                shutil.copy(sieve, os.path.join(home, ".dovecot.sieve"))
            if IS_ROOT:
                subprocess.run(["chown", "-R", f"{UID}:{GID}", home], check=True)
            self.homes[impl] = home

    def command(self, impl, extra=()):
        prog = LETTERBOX if impl == "letterbox" else DOVECOT_LDA
        args = [prog] + (["deliver"] if impl == "letterbox" else [])
        log = os.path.join(self.dir, f"{impl}.log")
        args += ["-c", self.conf, "-o", f"log_path={log}", "-f", "alice@example.com", *extra]
        env = {"HOME": self.homes[impl], "USER": "nobody" if IS_ROOT else os.environ.get("USER", "u"),
               "PATH": "/usr/bin:/bin"}
        return args, env

    def cleanup(self):
        """Deleted at the very end (`delete_leftovers`), not now: on ext4 without a journal,
        file creation is slow for minutes after many inodes were freed nearby (the allocator
        skips recently deleted ones), which would slow the next scenarios, letterbox's more in
        proportion (its deliveries are shorter)."""
        LEFTOVERS.append(self.dir)


LEFTOVERS = []


def delete_leftovers():
    for d in LEFTOVERS:
        shutil.rmtree(d, ignore_errors=True)


def as_user():
    """subprocess arguments that run the child as the mail user, the way an MTA does it
    (fork, setgid/setuid, exec): no wrapper process is timed."""
    return {"user": UID, "group": GID, "extra_groups": []} if IS_ROOT else {}


def deliver_once(world, impl, msg_path, rss=False):
    """One delivery; (wall seconds, peak RSS in KiB or 0). Time is measured on the bare
    delivery process. Peak RSS, when asked for, comes from GNU time in a separate run: a child
    forked from this (large) Python process would inherit its RSS high-water mark."""
    args, env = world.command(impl)
    peak = 0
    if rss:
        rss_file = os.path.join(world.dir, "rss")
        with open(msg_path, "rb") as stdin:
            subprocess.check_call(["/usr/bin/time", "-f", "%M", "-o", rss_file] + args,
                                  stdin=stdin, env=env, **as_user())
        with open(rss_file) as f:
            peak = int(f.read().split()[-1])
        return 0.0, peak
    with open(msg_path, "rb") as stdin:
        start = time.perf_counter()
        code = subprocess.call(args, stdin=stdin, env=env, **as_user())
        elapsed = time.perf_counter() - start
    if code != 0:
        sys.exit(f"{impl} exited {code}: {' '.join(args)}")
    return elapsed, peak


def interleaved(world, msg_path, runs):
    results = {"letterbox": [], "dovecot": []}
    for i in range(runs):
        order = ("letterbox", "dovecot") if i % 2 == 0 else ("dovecot", "letterbox")
        for impl in order:
            results[impl].append(deliver_once(world, impl, msg_path))
    for impl in results:
        peaks = [deliver_once(world, impl, msg_path, rss=True)[1] for _ in range(3)]
        results[impl] = [(t, max(peaks)) for t, _ in results[impl]]
    return results


def report(name, results):
    t = {k: statistics.median(x[0] for x in v) for k, v in results.items()}
    r = {k: max(x[1] for x in v) for k, v in results.items()}
    print(f"{name:8} letterbox {t['letterbox']*1000:8.2f} ms {r['letterbox']/1024:7.1f} MB | "
          f"dovecot-lda {t['dovecot']*1000:8.2f} ms {r['dovecot']/1024:7.1f} MB | "
          f"time ratio {t['letterbox']/t['dovecot']:.3f}  rss ratio {r['letterbox']/r['dovecot']:.3f}")
    sys.stdout.flush()


def fill_known_maildir(world, impl, count, msg):
    """count messages in cur/, then let Dovecot build uidlist and index for them."""
    maildir = os.path.join(world.homes[impl], "Maildir")
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(maildir, sub), exist_ok=True)
    now = int(time.time())
    vsize = len(msg) + msg.count(b"\n")
    for i in range(count):
        name = f"{now - count + i}.M{i}P1.bench,S={len(msg)},W={vsize}:2,S"
        with open(os.path.join(maildir, "cur", name), "wb") as f:
            f.write(msg)
    if IS_ROOT:
        subprocess.run(["chown", "-R", f"{UID}:{GID}", maildir], check=True)
    _, env = world.command(impl)
    doveadm = [DOVEADM, "-c", world.conf, "-o", f"log_path={world.dir}/doveadm.log", "mailbox", "status",
               "messages", "INBOX"]
    out = subprocess.run(doveadm, env=env, check=True, capture_output=True, text=True, **as_user()).stdout
    assert out.strip().endswith(f"messages={count}"), out


def mbox_scenario(msg_path, runs):
    """letterbox into an empty mbox vs one of 1 GB, interleaved: per-delivery time must not
    grow with the mbox size (only the end of the file is read)."""
    world = World("mbox")
    with open(world.conf, "a") as f:
        f.write("mail_location = mbox:~/mail:INBOX=~/mail/inbox\n")
    # The "dovecot" home of the world serves as the second letterbox home here.
    homes = {"empty": world.homes["letterbox"], "1GB": world.homes["dovecot"]}
    line = b"x" * 1023 + b"\n"
    for name, home in homes.items():
        maildir = os.path.join(home, "mail")
        os.makedirs(maildir, exist_ok=True)
        with open(os.path.join(maildir, "inbox"), "wb") as f:
            f.write(b"From MAILER-DAEMON Wed Nov 25 10:00:00 2026\n\n")
            if name == "1GB":
                for _ in range((1 << 30) // len(line)):
                    f.write(line)
            f.write(b"\n")
        if IS_ROOT:
            subprocess.run(["chown", "-R", f"{UID}:{GID}", maildir], check=True)
    subprocess.run(["sync"], check=True)
    time.sleep(5)
    results = {"empty": [], "1GB": []}
    for i in range(runs):
        for name in (("empty", "1GB") if i % 2 == 0 else ("1GB", "empty")):
            world.homes["letterbox"] = homes[name]
            results[name].append(deliver_once(world, "letterbox", msg_path)[0])
    e, g = statistics.median(results["empty"]), statistics.median(results["1GB"])
    print(f"mbox     letterbox empty {e * 1000:8.2f} ms | 1 GB mbox {g * 1000:8.2f} ms | ratio {g / e:.3f}")
    world.homes["letterbox"] = homes["empty"]
    world.cleanup()


def sieve_scenario(msg_path, runs):
    """Plain delivery, the 30-rule script with its compiled cache warm, and cold (cache
    removed before each delivery, untimed), for both implementations, all interleaved in one
    loop so that drift affects every variant alike. Dovecot's own .svbin stays warm, as it
    would on a real server."""
    script = os.path.join(ROOT, "bench", "rules30.sieve")
    plain, sieve = World("plain"), World("sieve", sieve=script)
    cache = os.path.join(sieve.homes["letterbox"], ".dovecot.lbsvbin")
    variants = {
        "letterbox plain": (plain, "letterbox", False),
        "letterbox warm": (sieve, "letterbox", False),
        "letterbox cold": (sieve, "letterbox", True),
        "dovecot plain": (plain, "dovecot", False),
        "dovecot sieve": (sieve, "dovecot", False),
    }
    for world, impl, _ in variants.values():
        deliver_once(world, impl, msg_path)  # creates the Maildirs and the caches
    times = {name: [] for name in variants}
    names = list(variants)
    for i in range(runs):
        for name in names[i % len(names):] + names[:i % len(names)]:
            world, impl, cold = variants[name]
            if cold and os.path.exists(cache):
                os.unlink(cache)
            times[name].append(deliver_once(world, impl, msg_path)[0])
    med = {name: statistics.median(v) * 1000 for name, v in times.items()}
    for name, ms in med.items():
        print(f"sieve30  {name:16} {ms:8.2f} ms")
    lb, dc = med["letterbox plain"], med["dovecot plain"]
    print(f"sieve overhead: letterbox warm +{(med['letterbox warm'] / lb - 1) * 100:.1f}%  "
          f"cold +{(med['letterbox cold'] / lb - 1) * 100:.1f}%  "
          f"dovecot-lda +{(med['dovecot sieve'] / dc - 1) * 100:.1f}%")
    print(f"sieve30 time ratio letterbox warm / dovecot-lda with sieve: "
          f"{med['letterbox warm'] / med['dovecot sieve']:.3f}  (plain: {lb / dc:.3f})")
    sys.stdout.flush()
    plain.cleanup()
    sieve.cleanup()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--big", type=int, default=50000)
    ap.add_argument("--huge-mb", type=int, default=50)
    ap.add_argument("--only")
    opts = ap.parse_args()
    for tool in (LETTERBOX, DOVECOT_LDA, DOVEADM):
        if not os.path.exists(tool):
            sys.exit(f"missing {tool} (cargo build --release; apt-get install dovecot-core)")
    print(f"machine: {os.uname().nodename} {os.cpu_count()} cpus; runs={opts.runs}")
    tmpdir = tempfile.mkdtemp(prefix="lb-bench-msg-")
    small = message(3 * 1024)
    small_path = os.path.join(tmpdir, "small.eml")
    open(small_path, "wb").write(small)
    os.chmod(tmpdir, 0o755)
    os.chmod(small_path, 0o644)
    if opts.only in (None, "empty"):
        world = World("empty")
        report("empty", interleaved(world, small_path, opts.runs))
        world.cleanup()
    if opts.only in (None, "big"):
        world = World("big")
        for impl in ("letterbox", "dovecot"):
            fill_known_maildir(world, impl, opts.big, small)
        report(f"{opts.big // 1000}k", interleaved(world, small_path, max(20, opts.runs // 4)))
        world.cleanup()
    if opts.only in (None, "sieve"):
        sieve_scenario(small_path, opts.runs // 2)
    if opts.only in (None, "mbox"):
        mbox_scenario(small_path, opts.runs // 2)
    if opts.only in (None, "huge"):
        huge_path = os.path.join(tmpdir, "huge.eml")
        open(huge_path, "wb").write(message(opts.huge_mb * 1024 * 1024))
        os.chmod(huge_path, 0o644)
        world = World("huge")
        report(f"{opts.huge_mb}MB", interleaved(world, huge_path, 5))
        world.cleanup()
    shutil.rmtree(tmpdir, ignore_errors=True)
    delete_leftovers()


if __name__ == "__main__":
    main()
