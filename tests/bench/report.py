"""The benchmark's tables: for the terminal and for docs/benchmarks.md."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .__main__ import Results

V2 = "Whatsminer API v2"
V2_NO_LATENCY = "Whatsminer API v2, no added latency"
PYASIC = "pyasic get_data(), "


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _poll_rows(results: Results) -> list[list[str]]:
    rows = []
    pyasic = [(PYASIC + label, single) for label, single in results.pyasic.items()]
    for label, single in [*results.single.items(), *pyasic]:
        rows.append(
            [
                label,
                f"{single['connections_per_poll']:.2f}",
                str(single["max_requests_in_flight"]),
                f"{single['bytes_per_poll']:.0f}",
                _ms(single.get("read_cpu_per_poll_s", single["cpu_per_poll_s"])),
                _ms(single["cpu_per_poll_s"]) if "entities" in single else "-",
                _ms(single["wall_per_poll_s"]),
                str(single.get("entities", "-")),
            ]
        )
    return rows


def _write_rows(results: Results) -> list[list[str]]:
    rows = []
    for label, single in results.single.items():
        write = single["write"]
        rows.append(
            [
                label,
                f"{write['uncached']['connections_per_write']:.2f}",
                f"{write['cached']['connections_per_write']:.2f}",
                _ms(write["uncached"]["cpu_per_write_s"]),
                _ms(write["cached"]["cpu_per_write_s"]),
                _ms(write["cached"]["wall_per_write_s"]),
            ]
        )
    return rows


def _scale_rows(results: Results) -> list[list[str]]:
    return [
        [
            f"{row['latency_ms']:g}",
            str(row["miners"]),
            f"{row['wall_s']:.3f}",
            f"{row['worst_wall_s']:.3f}",
            f"{row['cpu_s']:.3f}",
            _ms(row["cpu_s"] / row["miners"]),
            _ms(row["max_loop_stall_s"]),
            _ms(row["worst_loop_stall_s"]),
            _ms(row["worst_gc_pause_s"]),
            f"{row['peak_rss_mib']:.0f}",
            f"{row['setup_s']:.1f}",
        ]
        for row in results.scale
    ]


def ratios(results: Results, label: str = V2) -> dict[str, float]:
    """Ours / pyasic for one v2 miner: connections and CPU per poll."""
    ours, theirs = results.single[label], results.pyasic[label]
    return {
        "connections": ours["connections_per_poll"] / theirs["connections_per_poll"],
        "cpu_read": ours["read_cpu_per_poll_s"] / theirs["cpu_per_poll_s"],
        "cpu_with_entities": ours["cpu_per_poll_s"] / theirs["cpu_per_poll_s"],
    }


def _targets(results: Results) -> list[list[str]]:
    v2 = results.single[V2]
    ratio = ratios(results)
    ratio_fast = ratios(results, V2_NO_LATENCY)
    worst = [
        r
        for r in results.scale
        if r["miners"] == max(x["miners"] for x in results.scale)
    ]
    slow = max(worst, key=lambda r: r["latency_ms"])
    stall = max(r["worst_loop_stall_s"] for r in results.scale)
    checks = [
        (
            "v2 poll: at most 3 TCP connections (steady state)",
            f"{v2['connections_per_poll']:.2f}",
            v2["connections_per_poll"] <= 3,
        ),
        (
            "v2 poll: at most one request in flight",
            str(v2["max_requests_in_flight"]),
            v2["max_requests_in_flight"] <= 1,
        ),
        (
            "CPU per poll (reads) at most half of pyasic's",
            f"{ratio['cpu_read']:.2f} ({results.settings['reply_latency_ms']:g} ms), "
            f"{ratio_fast['cpu_read']:.2f} (no added latency); with entity updates "
            f"{ratio['cpu_with_entities']:.2f} / {ratio_fast['cpu_with_entities']:.2f}",
            max(ratio["cpu_read"], ratio_fast["cpu_read"]) <= 0.5,
        ),
        (
            "fewer connections per poll than pyasic",
            f"{ratio['connections']:.2f}",
            ratio["connections"] < 1,
        ),
        (
            f"{slow['miners']} miners, {slow['latency_ms']:g} ms: cycle under 2 s",
            f"{slow['worst_wall_s']:.2f} s (worst of {slow['cycles']})",
            slow["worst_wall_s"] < 2,
        ),
        (
            "event loop never stalls more than 20 ms",
            f"{stall * 1000:.1f} ms (worst of all runs)",
            stall <= 0.020,
        ),
        (
            "cached-token write: one TCP connection",
            f"{v2['write']['cached']['connections_per_write']:.2f}",
            v2["write"]["cached"]["connections_per_write"] <= 1,
        ),
    ]
    return [[what, value, "met" if ok else "**not met**"] for what, value, ok in checks]


def _sections(results: Results) -> list[tuple[str, list[str]]]:
    return [
        (
            "Targets",
            _table(["target", "measured", ""], _targets(results)),
        ),
        (
            "One miner: a poll",
            _table(
                [
                    "client",
                    "TCP connections / poll",
                    "max requests in flight",
                    "bytes / poll",
                    "CPU ms / poll (reads)",
                    "CPU ms / poll (with entities)",
                    "wall ms / poll",
                    "entities",
                ],
                _poll_rows(results),
            ),
        ),
        (
            "One miner: a write",
            _table(
                [
                    "miner",
                    "connections (not cached)",
                    "connections (cached)",
                    "CPU ms (not cached)",
                    "CPU ms (cached)",
                    "wall ms (cached)",
                ],
                _write_rows(results),
            ),
        ),
        (
            "Scale: Whatsminer API v2 miners polled by one Home Assistant",
            _table(
                [
                    "latency ms",
                    "miners",
                    "cycle s (median)",
                    "cycle s (worst)",
                    "CPU s / cycle",
                    "CPU ms / miner",
                    "loop stall ms (median cycle)",
                    "loop stall ms (worst)",
                    "longest GC pause ms",
                    "peak RSS MiB",
                    "setup s",
                ],
                _scale_rows(results),
            ),
        ),
    ]


def render_terminal(results: Results) -> str:
    """The tables, plainly."""
    parts = []
    for title, table in _sections(results):
        parts += ["", title, *table]
    parts.append("")
    for label in results.pyasic:
        ratio = ratios(results, label)
        parts.append(
            f"ours/pyasic, {label}: connections per poll {ratio['connections']:.2f}, "
            f"CPU per poll {ratio['cpu_read']:.2f} (reads) / "
            f"{ratio['cpu_with_entities']:.2f} (with entity updates)"
        )
    return "\n".join(parts)


def _machine(results: Results) -> list[str]:
    machine, settings = results.machine, results.settings
    return [
        f"- Machine: {machine['cpu']}; {machine['os']}",
        f"- Python {machine['python']}, Home Assistant {machine['home_assistant']}, "
        f"aiohttp {machine['aiohttp']}, pyasic {machine['pyasic']}",
        f"- {settings['polls']} polls per client, {settings['reply_latency_ms']:g} ms "
        f"added before every reply of the one-miner runs, {settings['cycles']} cycles "
        f"per scale point; the whole run took {settings['duration_s']} s",
    ]


METHOD = """\
## How it is measured

- **Emulators** (`tests/emulators/`) run in a process of their own. In the one-miner
  runs each sits behind a counting proxy that sees what a client costs the miner:
  TCP connections, bytes both ways, and requests in flight at once (sent and not
  yet answered). A latency is added before every reply.
- **Miner Hub**: a test Home Assistant (the harness's `async_test_home_assistant`)
  in a process of its own, with the integration set up from config entries as the
  config flow makes them. A *poll* is the coordinator's full refresh: the reads of
  every value the entities show, then the entities' state updates. The power
  supply and error codes are read every 5 minutes: one poll in ten at the default
  30 s interval, and so in the measured polls. *CPU (reads)* is the same polls
  without telling the entities, the like of what pyasic's `get_data()` does.
  Setup (identification, write-access check) is not counted.
- **pyasic** (the library behind the most used Home Assistant miner integration)
  runs in its own Python (`.venv-bench`) and reads the same emulated Whatsminer
  with `get_data()`, asking only for what our entities show (hashrate, boards,
  temperatures, power and limit, fans, PSU fan, errors, mining, uptime, pools).
- **A write** is "mining on" (Whatsminer; it is on) or the autotune mode it has
  (DragonMint), measured alone (not the refresh that follows). *Not cached*: the
  write token (v2) or salt (v3) was forgotten before each write.
- **Scale**: N emulated Whatsminer v2 miners, one Home Assistant process per
  point (so peak memory is that point's). Each coordinator polls when Home
  Assistant's timer would fire it: at its own random fraction of the second
  (0.05-0.5 s), so the cycle time includes that spread. *Loop stall*: the longest
  a 2 ms timer was kept waiting past its due time during the cycle. *CPU per
  cycle* leaves out the CPU of the same cycle with no miner (the probe's own).
- CPU is process CPU time (`time.process_time()`) over all polls, divided by polls.
"""


def render_markdown(results: Results, chart: str, notes: str = "") -> str:
    """docs/benchmarks.md: how it was measured, then the numbers."""
    lines = [
        "# Benchmarks",
        "",
        "Written by `scripts/bench` (code in `tests/bench/`); do not edit by hand.",
        "",
        *_machine(results),
        "",
        METHOD,
    ]
    for title, table in _sections(results):
        lines += [f"## {title}", "", *table, ""]
    lines += [f"![Scale: miners vs cycle time and CPU]({chart})", ""]
    return "\n".join(lines) + notes
