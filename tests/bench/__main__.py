"""``python -m tests.bench``: measure polling cost and scale; write the report.

Three kinds of process take part, so that each CPU figure is one client's own:
the emulators (``serve.py``), Miner Hub in a test Home Assistant
(``hass_side.py``, one process per measurement) and pyasic (``pyasic_poll.py``,
in the bench environment's Python). ``scripts/bench`` prepares both Pythons.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass, field
import json
import os
from pathlib import Path
import platform
import subprocess
import sys
import time
from typing import Any

from .hass_side import Control
from .report import V2, V2_NO_LATENCY, render_markdown, render_terminal

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Results:
    """Everything measured, as the report shows it."""

    settings: dict[str, Any]
    machine: dict[str, str]
    single: dict[str, dict[str, Any]] = field(default_factory=dict)
    pyasic: dict[str, Any] = field(default_factory=dict)
    scale: list[dict[str, Any]] = field(default_factory=list)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__)
    parser.add_argument("--polls", type=int, default=200, help="polls per client")
    parser.add_argument(
        "--reply-latency-ms", type=float, default=5.0, help="per reply, one miner"
    )
    parser.add_argument(
        "--miners", default="1,10,100,500", help="scale points (comma-separated)"
    )
    parser.add_argument(
        "--scale-latency-ms", default="0,50", help="latencies of the scale runs"
    )
    parser.add_argument("--cycles", type=int, default=5, help="poll cycles per point")
    parser.add_argument(
        "--bench-python",
        default=str(ROOT / ".venv-bench/bin/python"),
        help="the Python with pyasic and matplotlib",
    )
    parser.add_argument("--output", default=str(ROOT / "docs/benchmarks.md"))
    parser.add_argument("--chart", default=str(ROOT / "docs/benchmarks-scale.png"))
    return parser.parse_args()


def _versions(bench_python: str) -> dict[str, str]:
    from aiohttp import __version__ as aiohttp_version
    from homeassistant.const import __version__ as ha_version

    pyasic = subprocess.run(
        [
            bench_python,
            "-c",
            "import importlib.metadata as m; print(m.version('pyasic'))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpu": f"{model}, {os.cpu_count()} cores",
        "os": platform.platform(),
        "python": platform.python_version(),
        "home_assistant": ha_version,
        "aiohttp": aiohttp_version,
        "pyasic": pyasic,
    }


def _run_json(command: list[str]) -> dict[str, Any]:
    """Run a measuring process; its last stdout line is its JSON result."""
    done = subprocess.run(
        command, capture_output=True, text=True, cwd=ROOT, check=False
    )
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-4000:])
        raise RuntimeError(f"{command[1:3]} failed with exit code {done.returncode}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _hass_side(control_port: int, request: dict[str, Any]) -> dict[str, Any]:
    return _run_json(
        [
            sys.executable,
            "-m",
            "tests.bench.hass_side",
            str(control_port),
            json.dumps(request),
        ]
    )


SINGLE = (
    # label, kind, keep_alive, the reply latency if not the one asked for
    (V2, "whatsminer_v2", False, None),
    (V2_NO_LATENCY, "whatsminer_v2", False, 0.0),
    ("Whatsminer API v3 (closes after each reply)", "whatsminer_v3", False, None),
    ("Whatsminer API v3 (keeps the connection open)", "whatsminer_v3", True, None),
    ("DragonMint T1 (HTTP keep-alive)", "dragonmint", False, None),
)


async def _single(
    control: Control, port: int, args: argparse.Namespace
) -> dict[str, Any]:
    results = {}
    for label, kind, keep_alive, fixed_latency in SINGLE:
        latency = (
            args.reply_latency_ms / 1000 if fixed_latency is None else fixed_latency
        )
        say(f"one miner: {label}")
        miners = await control.call(
            op="start",
            group=label,
            kind=kind,
            count=1,
            latency=latency,
            proxied=True,
            keep_alive=keep_alive,
        )
        results[label] = await asyncio.to_thread(
            _hass_side,
            port,
            {"mode": "single", "group": label, "miners": miners, "polls": args.polls},
        )
        await control.call(op="stop", group=label)
    return results


async def _pyasic(
    control: Control, args: argparse.Namespace, latency: float
) -> dict[str, Any]:
    say(f"one miner: pyasic get_data() on Whatsminer API v2, {latency * 1000:g} ms")
    (miner,) = await control.call(
        op="start",
        group="pyasic",
        kind="whatsminer_v2",
        count=1,
        latency=latency,
        proxied=True,
    )
    # Its warm-up poll is counted by the proxy too: one poll more than measured.
    result = await asyncio.to_thread(
        _run_json,
        [
            args.bench_python,
            "tests/bench/pyasic_poll.py",
            str(miner["port"]),
            str(args.polls),
        ],
    )
    traffic = await control.traffic("pyasic")
    await control.call(op="stop", group="pyasic")
    polls = result["polls"] + 1
    result["connections_per_poll"] = traffic["connections"] / polls
    result["bytes_per_poll"] = (
        traffic["bytes_sent"] + traffic["bytes_received"]
    ) / polls
    result["max_requests_in_flight"] = traffic["max_in_flight"]
    return result


async def _scale(
    control: Control, port: int, args: argparse.Namespace
) -> list[dict[str, Any]]:
    rows = []
    for latency_ms in (float(v) for v in args.scale_latency_ms.split(",")):
        for count in (int(v) for v in args.miners.split(",")):
            say(f"scale: {count} miners, {latency_ms:g} ms latency")
            group = f"scale-{count}-{latency_ms}"
            miners = await control.call(
                op="start",
                group=group,
                kind="whatsminer_v2",
                count=count,
                latency=latency_ms / 1000,
            )
            row = await asyncio.to_thread(
                _hass_side,
                port,
                {"mode": "scale", "miners": miners, "cycles": args.cycles},
            )
            await control.call(op="stop", group=group)
            rows.append({"latency_ms": latency_ms, **row})
    return rows


def say(text: str) -> None:
    print(f"==> {text}", flush=True)


async def _measure(args: argparse.Namespace, results: Results) -> None:
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.bench.serve",
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=ROOT,
    )
    assert server.stdout is not None
    assert server.stdin is not None
    port = json.loads(await server.stdout.readline())["control_port"]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    control = Control(reader, writer)
    try:
        results.single = await _single(control, port, args)
        results.pyasic = {
            V2: await _pyasic(control, args, args.reply_latency_ms / 1000),
            V2_NO_LATENCY: await _pyasic(control, args, 0.0),
        }
        results.scale = await _scale(control, port, args)
    finally:
        writer.close()
        server.stdin.close()
        await server.wait()


def main() -> None:
    args = _arguments()
    started = time.perf_counter()
    results = Results(
        settings={
            "polls": args.polls,
            "reply_latency_ms": args.reply_latency_ms,
            "cycles": args.cycles,
        },
        machine=_versions(args.bench_python),
    )
    asyncio.run(_measure(args, results))
    results.settings["duration_s"] = round(time.perf_counter() - started)
    print(render_terminal(results))
    Path(args.output).write_text(render_markdown(results, Path(args.chart).name))
    raw = Path(args.output).with_suffix(".json")
    raw.write_text(json.dumps(results.__dict__, indent=2) + "\n")
    subprocess.run(
        [args.bench_python, "tests/bench/chart.py", str(raw), args.chart],
        check=True,
        cwd=ROOT,
    )
    say(f"written: {args.output}, {raw.name}, {args.chart}")


if __name__ == "__main__":
    main()
