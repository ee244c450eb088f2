#!/usr/bin/env python3
"""Helpers of scripts/bench-scale-engine (stdlib only).

  engine_report.py restart T0 TEND WORKERS STALE < rows
      rows: "kind run_ms finished_ms status" per workflow that got a 'running' event after
      T0 (kind: stale or queued; finished_ms "-" when unfinished). Prints key=value lines:
      the first claim after the process start, when the last stale workflow was claimed,
      the claim and completion rates, and how busy the workers were.
  engine_report.py perf < "perf report --sort comm,dso" output
      Groups the self samples into Cairo/pixman drawing, PNG/zlib encoding, espeak-ng,
      database, kernel, Storyloom's code and the rest; prints "category percent" lines.
"""
import bisect
import re
import sys


def restart(t0, tend, workers, stale_total):
    rows = []
    for line in sys.stdin:
        parts = line.split()
        if len(parts) < 4:
            continue
        kind, run, fin, status = parts[0], int(parts[1]), parts[2], parts[3]
        rows.append((kind, run, None if fin in ("-", "") else int(fin), status))
    out = {}
    if not rows:
        print("claims=0")
        return
    runs = sorted(r[1] for r in rows)
    first = runs[0]
    out["first_claim_ms"] = first - t0
    stale = sorted(r[1] for r in rows if r[0] == "stale")
    out["stale_claimed"] = len(stale)
    out["stale_all_claimed_ms"] = (stale[-1] - t0) if len(stale) == stale_total else -1
    window = max(tend - first, 1)
    out["window_s"] = round(window / 1000, 1)
    out["claims"] = len(rows)
    out["claims_per_s"] = round(len(rows) / (window / 1000), 2)
    done = [r for r in rows if r[2] is not None and r[2] <= tend]
    out["completed"] = sum(1 for r in done if r[3] == "completed")
    out["finished"] = len(done)
    out["runs_per_s"] = round(len(done) / (window / 1000), 2)
    busy = sum(min(r[2] if r[2] is not None else tend, tend) - r[1] for r in rows)
    out["busy_pct"] = round(100.0 * busy / (workers * window), 1)
    durations = sorted(r[2] - r[1] for r in done)
    if durations:
        out["run_ms_p50"] = durations[len(durations) // 2]
    # The gap between a slot freeing and the next claim: for each claim after the first
    # `workers`, the time since the latest finish before it.
    finishes = sorted(r[2] for r in rows if r[2] is not None)
    gaps = []
    for run in runs[workers:]:
        i = bisect.bisect_right(finishes, run)
        if i > 0:
            gaps.append(run - finishes[i - 1])
    if gaps:
        gaps.sort()
        out["claim_gap_ms_p50"] = gaps[len(gaps) // 2]
        out["claim_gap_ms_max"] = gaps[-1]
    for k, v in out.items():
        print(f"{k}={v}")


CATEGORIES = [
    ("espeak-ng (speech)", lambda comm, dso: comm.startswith("espeak")),
    ("Cairo/pixman/fonts (drawing)",
     lambda comm, dso: re.search(r"cairo|pixman|freetype|fontconfig|harfbuzz", dso)),
    ("PNG/zlib (encoding)", lambda comm, dso: re.search(r"libpng|libz\.", dso)),
    ("sha256 of files (libsodium)", lambda comm, dso: "libsodium" in dso),
    ("database (sqlite/libpq)", lambda comm, dso: re.search(r"sqlite|libpq", dso)),
    ("kernel (syscalls, I/O, spawn)", lambda comm, dso: "kernel" in dso),
    ("storyloom code", lambda comm, dso: dso.endswith("storyloom")),
    ("libc/libstdc++/libm", lambda comm, dso: re.search(r"libc\.|libstdc|libm\.|ld-linux", dso)),
]


def perf():
    totals = {}
    rows = []
    for line in sys.stdin:
        m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+(\S+)", line)
        if not m:
            continue
        pct, comm, dso = float(m.group(1)), m.group(2), m.group(3)
        rows.append((pct, comm, dso))
        for name, pred in CATEGORIES:
            if pred(comm, dso):
                totals[name] = totals.get(name, 0) + pct
                break
        else:
            totals["other"] = totals.get("other", 0) + pct
    for name, _ in CATEGORIES + [("other", None)]:
        if name in totals:
            print(f"{totals[name]:5.1f}% {name}")
    print("top comm/dso:")
    for pct, comm, dso in sorted(rows, reverse=True)[:10]:
        print(f"  {pct:5.1f}% {comm} {dso}")


if __name__ == "__main__":
    if sys.argv[1] == "restart":
        restart(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    elif sys.argv[1] == "perf":
        perf()
