"""Runs every benchmark in one process and ends with one line per comparison.

Each ``benchmarks/bench_*.py`` module has ``run() -> list[dict]`` returning rows
``{"name", "ours_s", "ref_s", "ratio", "unit"}`` (ratio = ours / reference, lower is better for
times; rows may add "goal"; a goal never reached has ``ours_s`` and ``ratio`` None).
``python -m benchmarks [NAME ...]`` runs all (or the named) modules, prints the table and writes
it to ``benchmarks/latest.json``: each row names its module ("bench") and when it ran ("when"),
and a run replaces the rows it measured (by name) and keeps the others.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import platform
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).parent


def main(argv: list[str]) -> int:
    names = argv or sorted(m.name for m in pkgutil.iter_modules([str(HERE)])
                           if m.name.startswith("bench_"))
    rows = []
    for name in names:
        module = importlib.import_module(f"benchmarks.{name}")
        t0 = time.perf_counter()
        print(f"== {name}", flush=True)
        when = time.strftime("%Y-%m-%d %H:%M:%S")
        rows += [{**r, "bench": name, "when": when} for r in module.run()]
        print(f"   ({time.perf_counter() - t0:.0f} s)", flush=True)
    print()
    width = max(len(r["name"]) for r in rows) if rows else 10
    print(f"{'comparison':<{width}}  {'ours':>10}  {'reference':>10}  {'ratio':>6}  goal")
    for r in rows:  # a goal never reached has no time and no ratio (None)
        ours = "never" if r["ours_s"] is None else f"{r['ours_s']:.4g}"
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}x"
        print(f"{r['name']:<{width}}  {ours:>10}  {r['ref_s']:>10.4g}  {ratio:>6}  "
              f"{r.get('goal', '')}")
    meta = {"python": platform.python_version(), "torch": torch.__version__,
            "threads": torch.get_num_threads(), "machine": platform.machine()}
    latest = HERE / "latest.json"
    fresh = {r["name"] for r in rows}
    kept = [r for r in json.loads(latest.read_text())["rows"]
            if r["name"] not in fresh] if latest.exists() else []
    latest.write_text(json.dumps({"meta": meta, "rows": kept + rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
