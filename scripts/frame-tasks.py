#!/usr/bin/env python3
r"""What the web process's main thread did during the diff benchmark's long frames.

The page can only time the gap between two animation frames; WebKitGTK has no
'longtask' entries. This script splits each gap with a scheduler trace of the
WebKit web process's main thread (and the app's): how long the thread ran, how
long it waited for a core, how long it slept, and its longest main-loop
iteration. GLib's main loop calls poll() once per iteration, even when
something is ready, so the time from one poll() returning to the next poll()
call is one iteration: one or more tasks back to back, an upper bound on the
longest task.

Two steps, as root, with the benchmark running on a quiet machine:

  scripts/frame-tasks.py record /tmp/frames.perf &
  FANOUT_BENCH_FRAMES=/tmp/frames.jsonl FANOUT_BENCH_APP=<release binary> \
      cargo test --features custom-protocol --test ui_bench -- --ignored --nocapture
  scripts/frame-tasks.py report /tmp/frames.perf /tmp/frames.jsonl

`record` waits for the app and its web process, traces their main threads
until the app exits, then writes the pids beside the trace (<out>.pids).
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time

# x86_64 syscalls a GLib main loop waits in between iterations.
POLLS = {7, 271, 232, 281, 23, 270}  # poll, ppoll, epoll_wait, epoll_pwait, select, pselect6
OVER_MS = 50.0


def children(pid):
    """Every thread's children: WebKit may spawn from another thread."""
    found = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(p) for p in f.read().split()]
        except OSError:
            pass
    return found


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def find_app(timeout_s=600):
    """The newest fanout-app (or a copy named fanout-app-*) and its
    WebKitWebProcess child, once both run."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        apps = [int(p) for p in os.listdir("/proc") if p.isdigit() and comm(int(p)).startswith("fanout-app")]
        for app in sorted(apps, reverse=True):
            web = [c for c in children(app) if comm(c).startswith("WebKitWebProces")]
            if web:
                return app, web[0]
        time.sleep(0.2)
    sys.exit("frame-tasks: no fanout-app with a WebKit web process appeared; start the benchmark")


def need_perf():
    if shutil.which("perf") is None:
        sys.exit("frame-tasks: `perf` is not installed: apt-get install linux-perf (Debian) or linux-tools-generic (Ubuntu)")


def record(out):
    need_perf()
    if os.geteuid() != 0:
        sys.exit("frame-tasks: tracing other processes' scheduler events needs root: run it with sudo")
    app, web = find_app()
    pids = f"prev_pid == {web} || next_pid == {web} || prev_pid == {app} || next_pid == {app}"
    cmd = [
        "perf", "record", "-q", "-a", "-k", "CLOCK_MONOTONIC", "-o", out,
        "-e", "sched:sched_switch", "--filter", pids,
        "-e", "sched:sched_wakeup", "--filter", f"pid == {web} || pid == {app}",
        "-e", "raw_syscalls:sys_enter", "--filter", f"common_pid == {web} || common_pid == {app}",
        "--", "sh", "-c", f"while kill -0 {app} 2>/dev/null; do sleep 0.2; done",
    ]
    print(f"frame-tasks: tracing app {app} and web process {web}", file=sys.stderr)
    subprocess.run(cmd, check=True)
    # Written last: its presence tells `report` the trace is complete.
    with open(out + ".pids", "w") as f:
        json.dump({"app": app, "web": web}, f)


EVENT = re.compile(r"^\s*(?P<comm>.+?)\s+(?P<tid>\d+)\s+\[\d+\]\s+(?P<ts>[\d.]+):\s+(?P<name>[\w:]+):\s*(?P<rest>.*)$")


def events(trace):
    """(seconds, event name, tid, the event's fields) from `perf script`."""
    text = subprocess.run(
        ["perf", "script", "-i", trace], check=True, capture_output=True, text=True
    ).stdout
    for line in text.splitlines():
        m = EVENT.match(line)
        if m:
            yield float(m["ts"]), m["name"], int(m["tid"]), m["rest"]


class Thread:
    """One thread's timeline: when it ran, waited for a core, slept inside a
    task (blocked), and its main-loop iterations, all in seconds of
    CLOCK_MONOTONIC.

    The trace misses some switches from an idle CPU to the thread (the
    kernel records the wakeup but not always the switch). A thread that
    makes a syscall is running, so such a switch is placed at the wakeup:
    on an idle CPU the two are microseconds apart."""

    def __init__(self):
        self.running = []  # (start, end)
        self.waiting = []  # runnable, not running: preempted or woken
        self.blocked = []  # asleep outside poll(): inside a task
        self.iterations = []  # from poll() returning to the next poll() call
        self._since = None  # when the current state began
        self._state = "unknown"
        self._poll_at = None  # the last poll() entered, while no other syscall followed
        self._polled = False  # the thread went to sleep in that poll()
        self._iter_start = None

    def switch_in(self, ts):
        if self._state == "running":
            return
        if self._state == "waiting" and self._since is not None:
            self.waiting.append((self._since, ts))
        if self._polled:
            # Back from sleeping in poll(): a new iteration begins.
            self._iter_start, self._polled = ts, False
        self._state, self._since = "running", ts

    def switch_out(self, ts, prev_state):
        self._running_since_wakeup()
        if self._since is not None:
            self.running.append((self._since, ts))
        preempted = prev_state.startswith("R")
        self._state, self._since = ("waiting" if preempted else "sleeping"), ts
        if not preempted:
            self._polled = self._poll_at is not None

    def woken(self, ts):
        if self._state == "sleeping":
            if not self._polled and self._since is not None:
                self.blocked.append((self._since, ts))
            self._state, self._since = "woken", ts

    def syscall(self, ts, nr):
        self._running_since_wakeup(ts)
        if nr in POLLS:
            if self._iter_start is not None:
                self.iterations.append((self._iter_start, ts))
            # A poll() that does not sleep returns at once: the next
            # iteration starts now; one that sleeps, at the switch back in.
            self._iter_start, self._poll_at, self._polled = ts, ts, False
        else:
            self._poll_at = None

    def _running_since_wakeup(self, ts=None):
        """Places a switch-in the trace missed: at the wakeup if there was
        one, else at the first sign of the thread running."""
        if self._state == "woken":
            self.switch_in(self._since)
        elif self._state != "running" and ts is not None:
            self.switch_in(ts)


def timelines(trace, pids):
    threads = {pid: Thread() for pid in pids}
    for ts, name, tid, rest in events(trace):
        if name == "sched:sched_switch":
            prev = re.search(r"prev_pid=(\d+) prev_prio=\d+ prev_state=(\S+)", rest)
            nxt = re.search(r"next_pid=(\d+)", rest)
            if prev and int(prev[1]) in threads:
                threads[int(prev[1])].switch_out(ts, prev[2])
            if nxt and int(nxt[1]) in threads:
                threads[int(nxt[1])].switch_in(ts)
        elif name == "sched:sched_wakeup":
            woke = re.search(r"pid=(\d+)", rest)
            if woke and int(woke[1]) in threads:
                threads[int(woke[1])].woken(ts)
        elif name == "raw_syscalls:sys_enter" and tid in threads:
            nr = re.match(r"NR (\d+)", rest)
            if nr:
                threads[tid].syscall(ts, int(nr[1]))
    return threads


def overlap(spans, start, end):
    return sum(max(0.0, min(e, end) - max(s, start)) for s, e in spans)


def longest(spans, start, end):
    inside = [min(e, end) - max(s, start) for s, e in spans if e > start and s < end]
    return max(inside, default=0.0)


def ms(seconds):
    return f"{seconds * 1000:5.1f}"


def report(trace, frames_file):
    try:
        with open(trace + ".pids") as f:
            pids = json.load(f)
    except FileNotFoundError:
        sys.exit(f"frame-tasks: {trace}.pids is missing: `record` has not finished (it ends with the app)")
    need_perf()
    if not os.path.exists(frames_file):
        sys.exit(f"frame-tasks: {frames_file} is missing: run ui_bench with FANOUT_BENCH_FRAMES={frames_file}")
    threads = timelines(trace, [pids["web"], pids["app"]])
    web, app = threads[pids["web"]], threads[pids["app"]]
    # The page's times are milliseconds since the epoch; the trace's are
    # CLOCK_MONOTONIC seconds. Their difference is taken now, which holds
    # while the clock is not stepped between the run and the report.
    offset = time.time() - time.monotonic()
    worst_iteration, over = 0.0, 0
    with open(frames_file) as f:
        scrolls = [json.loads(line) for line in f if line.strip()]
    for n, scroll in enumerate(scrolls):
        at = [t / 1000 - offset for t in scroll["at"]]
        kind = "jump to the end" if scroll["by"] == 0 else f"{scroll['by']} px per frame"
        gaps = list(zip(at, at[1:]))
        iteration = max((longest(web.iterations, s, e) for s, e in gaps), default=0.0)
        worst_iteration = max(worst_iteration, iteration)
        long_gaps = [(s, e) for s, e in gaps if (e - s) * 1000 > OVER_MS]
        over += len(long_gaps)
        print(f"scroll {n} ({kind}): {len(gaps)} frame gaps, {len(long_gaps)} over {OVER_MS:.0f} ms; "
              f"longest main-loop iteration of the web process {ms(iteration)} ms")
        chunks = [t / 1000 - offset for t in scroll.get("chunks") or []]
        for s, e in long_gaps:
            arrived = sum(1 for t in chunks if s <= t <= e)
            print(f"  gap {ms(e - s)} ms{' (a chunk of lines arrived)' if arrived else ''}: web main thread ran {ms(overlap(web.running, s, e))}, "
                  f"waited for a core {ms(overlap(web.waiting, s, e))}, blocked inside a task "
                  f"{ms(overlap(web.blocked, s, e))}, longest iteration "
                  f"{ms(longest(web.iterations, s, e))}; app main thread ran {ms(overlap(app.running, s, e))}, "
                  f"waited {ms(overlap(app.waiting, s, e))}")
    print(f"\nall scrolls: {over} frame gaps over {OVER_MS:.0f} ms; the web process's longest "
          f"main-loop iteration while scrolling: {ms(worst_iteration)} ms")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "record":
        record(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "report":
        report(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
