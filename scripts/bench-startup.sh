#!/usr/bin/env bash
# Cold start and idle memory of the release app (BENCHMARKS.md, "Cold start and idle memory").
#
# For each run: a fresh FANOUT_HOME and WebKit cache, the app launched, the
# time until the UI reports its first painted screen (the app writes the wall
# clock to FANOUT_STARTUP_MARK when the UI calls `ui_ready` after its first
# frame), then IDLE_SECONDS of idling, then the proportional set size (PSS,
# /proc/<pid>/smaps_rollup) summed over the app and every process it started
# (the WebKit web and network processes). Prints one line per run and the
# median. Runs under the current DISPLAY; `make bench-startup` wraps it in
# xvfb-run.
set -euo pipefail

APP=${APP:-target/release/fanout-app}
RUNS=${RUNS:-5}
IDLE_SECONDS=${IDLE_SECONDS:-5}

if [[ ! -x $APP ]]; then
    echo "bench-startup: $APP is missing; build it with 'make app' first." >&2
    exit 2
fi
if [[ -z ${DISPLAY:-} ]]; then
    echo "bench-startup: no DISPLAY; run it through 'make bench-startup' (xvfb-run)." >&2
    exit 2
fi

now_ms() { date +%s%3N; }
mb() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }

# Every descendant of $1, then $1.
tree_pids() {
    local pid=$1 child
    for child in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do
        tree_pids "$child"
    done
    echo "$pid"
}

pss_kib() {
    local total=0 pid kib
    for pid in $(tree_pids "$1"); do
        kib=$(awk '/^Pss:/ {print $2}' /proc/"$pid"/smaps_rollup 2>/dev/null || echo 0)
        total=$((total + ${kib:-0}))
    done
    echo "$total"
}

# "app 98.0 / WebKitWebProces 110.1 / ..." in MB, the app first.
per_process() {
    local pid kib parts=()
    for pid in $(tree_pids "$1" | tac); do
        kib=$(awk '/^Pss:/ {print $2}' /proc/"$pid"/smaps_rollup 2>/dev/null || echo 0)
        parts+=("$(cat /proc/"$pid"/comm 2>/dev/null) $(mb "${kib:-0}")")
    done
    local IFS=/
    echo "${parts[*]}" | sed 's|/| / |g'
}

# The tree's PSS counting shared pages only among its own processes, as if no
# other program mapped them (scripts/tree-pss.py); empty unless root, which
# reading physical page numbers needs. Stable while another WebKit app runs.
alone_kib() {
    [[ $(id -u) == 0 ]] || return 0
    # A failure costs only this figure, not the run.
    "$(dirname "$0")"/tree-pss.py $(tree_pids "$1") | awk '$1 == "total" {print $4}' ||
        echo "bench-startup: scripts/tree-pss.py failed; no alone figure for this run" >&2
}

# WebKit processes outside the tree: they share libwebkit2gtk, Mesa and
# JavaScriptCore with ours and so lower the kernel's PSS of ours.
foreign_webkit() {
    local mine others
    mine=" $(tree_pids "$1" | tr '\n' ' ')"
    others=$(pgrep -f 'WebKit(Web|Network)Process' | while read -r pid; do
        [[ $mine == *" $pid "* ]] || echo "$pid"
    done | wc -l)
    ((others > 0)) && echo "$others"
    return 0
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2] + a[NR/2+1]) / 2)}'; }

starts=()
pss=()
alone=()
for run in $(seq 1 "$RUNS"); do
    scratch=$(mktemp -d)
    mark=$scratch/ready
    t0=$(now_ms)
    FANOUT_HOME=$scratch/home XDG_DATA_HOME=$scratch/data XDG_CACHE_HOME=$scratch/cache \
        XDG_CONFIG_HOME=$scratch/config FANOUT_STARTUP_MARK=$mark \
        "$APP" >"$scratch/app.log" 2>&1 &
    app=$!
    deadline=$((t0 + 60000))
    while [[ ! -s $mark ]]; do
        if ! kill -0 "$app" 2>/dev/null; then
            echo "bench-startup: the app exited before its first screen; log:" >&2
            cat "$scratch/app.log" >&2
            exit 1
        fi
        if (($(now_ms) > deadline)); then
            echo "bench-startup: no first screen within 60 s" >&2
            kill "$app"
            exit 1
        fi
        sleep 0.02
    done
    start_ms=$(($(cat "$mark") - t0))
    sleep "$IDLE_SECONDS"
    idle_kib=$(pss_kib "$app")
    processes=$(tree_pids "$app" | wc -l)
    split=$(per_process "$app")
    alone_kib=$(alone_kib "$app")
    others=$(foreign_webkit "$app")
    kill "$app"
    wait "$app" 2>/dev/null || true
    rm -rf "$scratch"
    printf 'run %d: first screen %5d ms, idle PSS %6.1f MB over %d processes (%s)%s%s\n' \
        "$run" "$start_ms" "$(mb "$idle_kib")" "$processes" "$split" \
        "${alone_kib:+, alone $(mb "$alone_kib") MB}" \
        "${others:+; $others other WebKit processes were running: PSS understated}"
    starts+=("$start_ms")
    pss+=("$idle_kib")
    alone+=("${alone_kib:-0}")
done

start_median=$(printf '%s\n' "${starts[@]}" | median)
pss_median=$(printf '%s\n' "${pss[@]}" | median)
alone_median=$(printf '%s\n' "${alone[@]}" | median)
printf 'median over %d runs: first screen %d ms, idle PSS %.1f MB%s\n' \
    "$RUNS" "$start_median" "$(mb "$pss_median")" \
    "$( ((alone_median > 0)) && echo ", alone $(mb "$alone_median") MB")"
