"""Kernel start-up time and a trivial cell's round trip, this kernel next to stock tslab, same run.

Start-up: from launching the process to the first kernel_info_reply (jupyter_client's
wait_for_ready), then the first cell (which warms the compiler). Round trip: execute_request of
`1 + 1` until the cell's idle status, median over the repeats. Writes bench/results/kernel.json.
Usage: .venv/bin/python bench/kernel.py [--starts 3] [--cells 20]
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "test" / "kernel"))
import kernelspecs  # noqa: E402
from client import run  # noqa: E402
from jupyter_client.manager import KernelManager  # noqa: E402


def measure(kernel: str, starts: int, cells: int) -> dict:
    startup, first_cell, round_trips = [], [], []
    for _ in range(starts):
        km = KernelManager(kernel_name=kernel)
        t0 = time.perf_counter()
        km.start_kernel(cwd=str(ROOT))
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=120)
        t1 = time.perf_counter()
        run(kc, "1 + 1")
        t2 = time.perf_counter()
        startup.append(t1 - t0)
        first_cell.append(t2 - t1)
        for _ in range(cells):
            t = time.perf_counter()
            run(kc, "1 + 1")
            round_trips.append(time.perf_counter() - t)
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    ms = lambda xs: round(1000 * statistics.median(xs), 1)  # noqa: E731
    return {
        "startup_ms_median": ms(startup),
        "first_cell_ms_median": ms(first_cell),
        "trivial_cell_round_trip_ms_median": ms(round_trips),
        "trivial_cell_round_trip_ms_p90": round(1000 * statistics.quantiles(round_trips, n=10)[-1], 1),
        "starts": starts,
        "cells_per_start": cells,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--starts", type=int, default=3)
    ap.add_argument("--cells", type=int, default=20)
    args = ap.parse_args()
    results = {k: measure(k, args.starts, args.cells) for k in (kernelspecs.OURS, kernelspecs.STOCK)}
    report = {
        "benchmark": "kernel start-up and trivial cell round trip",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpu_count_shared": True, "platform": platform.platform(), "python": platform.python_version()},
        "kernels": results,
    }
    out = ROOT / "bench" / "results" / "kernel.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report, indent=2) + "\n")
    tmp.replace(out)
    print(f"{'kernel':<18}{'start-up ms':>12}{'first cell ms':>15}{'1+1 round trip ms':>19}")
    for name, r in results.items():
        print(f"{name:<18}{r['startup_ms_median']:>12}{r['first_cell_ms_median']:>15}{r['trivial_cell_round_trip_ms_median']:>19}")
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
