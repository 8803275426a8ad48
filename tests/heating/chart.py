"""``python -m tests.heating.chart TRACES_DIR DOCS_DIR``: the heating day, drawn.

Reads the traces the closed-loop test wrote (``MINER_HUB_HEAT_TRACES``), draws
``heating-day.png`` (each room on API v2: room temperature and target above,
the miner's power, the power the room needs and the floor below, mining stops
marked) and writes every run's figures to ``heating.json``.

Runs in the bench environment (matplotlib is not a test requirement).
"""

from __future__ import annotations

import json
from pathlib import Path
import sys
from typing import Any

import matplotlib as mpl  # type: ignore[import-not-found]

mpl.use("Agg")
import matplotlib.pyplot as plt  # type: ignore[import-not-found]

ROOM_ORDER = ("barely_enough", "medium", "mild")
TITLES = {
    "barely_enough": "Full power barely enough",
    "medium": "Medium need",
    "mild": "Floor too much half the day",
}
API = "v2"


def _load(traces: Path) -> list[dict[str, Any]]:
    runs = [json.loads(path.read_text()) for path in sorted(traces.glob("*.json"))]
    if not runs:
        raise SystemExit(f"no traces in {traces}")
    return runs


def _draw_room(temperature_axis: Any, power_axis: Any, run: dict[str, Any]) -> None:
    warmup = run["warmup_h"]
    samples = [s for s in run["samples"] if s["hours"] >= warmup]
    hours = [s["hours"] - warmup for s in samples]  # the warm-up ends at midnight
    target = run["target_c"]
    temperature_axis.axhspan(
        target - 0.5, target + 0.5, color="tab:green", alpha=0.12, label="±0.5 °C"
    )
    temperature_axis.plot(
        hours, [s["sensor_c"] for s in samples], color="0.7", lw=0.6, label="sensor"
    )
    temperature_axis.plot(
        hours, [s["inside_c"] for s in samples], color="tab:red", lw=1.2, label="room"
    )
    temperature_axis.axhline(target, color="k", lw=0.8, ls="--", label="target")
    temperature_axis.set(ylim=(target - 1.5, target + 1.5), ylabel="°C")
    power_axis.plot(
        hours,
        [s["power_w"] / 1000 for s in samples],
        color="tab:orange",
        lw=1.2,
        label="miner power",
    )
    power_axis.plot(
        hours,
        [s["need_w"] / 1000 for s in samples],
        color="tab:blue",
        lw=0.8,
        ls=":",
        label="power the room needs",
    )
    power_axis.axhline(
        run["floor_w"] / 1000, color="0.5", lw=0.8, ls="--", label="floor (30 %)"
    )
    for stop in run["mining_stops"]:
        if stop >= warmup:
            power_axis.axvline(stop - warmup, color="tab:purple", lw=0.8, alpha=0.6)
    power_axis.set(
        ylim=(0, run["full_w"] / 1000 * 1.1), ylabel="kW", xlabel="time of day (h)"
    )
    figures = run["figures"]
    temperature_axis.set_title(
        f"{TITLES[run['room']['name']]}\n"
        f"{figures['within_band']:.0%} within ±0.5 °C · "
        f"{figures['percent_changes_per_hour']:.1f} changes/h · "
        f"{figures['mining_stops_per_day']:.0f} stops/day",
        fontsize=9,
    )
    for axis in (temperature_axis, power_axis):
        axis.set_xlim(0, 24)
        axis.set_xticks(range(0, 25, 6))
        axis.grid(True, alpha=0.3)


def main(traces_dir: str, docs_dir: str) -> None:
    runs = _load(Path(traces_dir))
    by_room = {run["room"]["name"]: run for run in runs if run["api"] == API}
    figure, axes = plt.subplots(
        2, len(ROOM_ORDER), figsize=(13, 6), dpi=100, sharex=True
    )
    for column, name in enumerate(ROOM_ORDER):
        _draw_room(axes[0][column], axes[1][column], by_room[name])
    axes[0][0].legend(fontsize=7, loc="lower left")
    handles, labels = axes[1][0].get_legend_handles_labels()
    handles.append(plt.Line2D([], [], color="tab:purple", lw=0.8))
    labels.append("mining stops")
    axes[1][0].legend(handles, labels, fontsize=7, loc="upper right")
    figure.suptitle(
        "A simulated day of heating with a Whatsminer (closed loop, API v2)"
    )
    figure.tight_layout()
    docs = Path(docs_dir)
    figure.savefig(docs / "heating-day.png")
    figures = sorted(
        (run["figures"] for run in runs), key=lambda f: (f["room"], f["api"])
    )
    (docs / "heating.json").write_text(json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
