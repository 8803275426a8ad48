"""``python tests/bench/chart.py RESULTS.json CHART.png``: the scale chart.

Runs in the bench environment (matplotlib is not a test requirement).
"""

from __future__ import annotations

import json
from pathlib import Path
import sys

import matplotlib as mpl  # type: ignore[import-not-found]

mpl.use("Agg")
import matplotlib.pyplot as plt  # type: ignore[import-not-found]


def main(results_path: str, chart_path: str) -> None:
    scale = json.loads(Path(results_path).read_text())["scale"]
    latencies = sorted({row["latency_ms"] for row in scale})
    figure, (cycle_axis, cpu_axis) = plt.subplots(1, 2, figsize=(10, 4), dpi=100)
    for latency in latencies:
        rows = sorted(
            (row for row in scale if row["latency_ms"] == latency),
            key=lambda row: row["miners"],
        )
        miners = [row["miners"] for row in rows]
        label = f"{latency:g} ms latency"
        cycle_axis.plot(miners, [row["wall_s"] for row in rows], "o-", label=label)
        cpu_axis.plot(miners, [row["cpu_s"] for row in rows], "o-", label=label)
    cycle_axis.axhline(
        2.0, color="grey", linestyle="--", linewidth=1, label="target 2 s"
    )
    cycle_axis.set(title="Poll cycle (wall time)", ylabel="seconds")
    cpu_axis.set(
        title="CPU per poll cycle (Home Assistant process)", ylabel="CPU seconds"
    )
    for axis in (cycle_axis, cpu_axis):
        axis.set(xscale="log", xlabel="Whatsminer miners polled at once")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend()
    figure.tight_layout()
    figure.savefig(chart_path)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
