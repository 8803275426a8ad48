"""``python -m tests.solar.chart TRACES_DIR DOCS_DIR``: the solar day, drawn.

Reads the traces the simulated-day test wrote (``MINER_HUB_SOLAR_TRACES``),
draws ``solar-day.png`` (the reference day and the day with a battery: the
panels, the house's own load, the miners' power and the grid, import positive)
and writes every run's figures to ``solar.json``.

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

DRAWN = ("reference", "battery")
TITLES = {
    "reference": "Reference day (priority: garage first, then shed)",
    "battery": "Same day with a 10 kWh battery (charged first below 50 %)",
}


# The lines drawn over the sun: sample key, colour, width, label.
LINES = (
    ("load_w", "tab:blue", 0.8, "house (without miners)"),
    ("mining_w", "tab:orange", 1.4, "miners"),
    ("grid_w", "tab:red", 0.7, "grid (import +)"),
    ("battery_w", "tab:green", 0.7, "battery (charging +)"),
)


def _kw(samples: list[dict[str, Any]], key: str) -> list[float]:
    return [s[key] / 1000 for s in samples]


def _draw(axis: Any, run: dict[str, Any]) -> None:
    samples = run["samples"]
    hours = [s["hour"] for s in samples]
    axis.fill_between(
        hours, _kw(samples, "pv_w"), color="gold", alpha=0.5, label="solar"
    )
    for key, color, width, label in LINES:
        if any(s[key] for s in samples):  # no battery: no battery line
            axis.plot(hours, _kw(samples, key), color=color, lw=width, label=label)
    axis.axhline(0, color="k", lw=0.5)
    figures = run["figures"]
    axis.set_title(
        f"{TITLES[run['name']]}: {figures['surplus_share']:.1%} of mining energy "
        f"from the surplus, {figures['import_share']:.1%} imported",
        fontsize=10,
    )
    axis.set(ylabel="kW", xlim=(5, 21))
    axis.legend(loc="upper left", fontsize=7, ncol=3)


def main(traces: Path, docs: Path) -> None:
    runs = {
        path.stem: json.loads(path.read_text())
        for path in sorted(traces.glob("*.json"))
    }
    if not runs:
        raise SystemExit(f"no traces in {traces}")
    figure, axes = plt.subplots(len(DRAWN), 1, figsize=(11, 7), sharex=True)
    for axis, name in zip(axes, DRAWN, strict=True):
        _draw(axis, runs[name])
    axes[-1].set_xlabel("time of day (h)")
    figure.tight_layout()
    figure.savefig(docs / "solar-day.png", dpi=110)
    (docs / "solar.json").write_text(
        json.dumps({name: run["figures"] for name, run in runs.items()}, indent=2)
        + "\n"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
