"""wrk on loopback: run it with a Lua request script and parse throughput and latency."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class WrkResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    requests: int


def _ms(value: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value.strip())
    if not m:
        return float("nan")
    n, unit = float(m.group(1)), m.group(2)
    return {"us": n / 1000, "ms": n, "s": n * 1000, "m": n * 60_000}[unit]


def run_wrk(
    base_url: str,
    lua: str,
    *,
    connections: int = 50,
    threads: int = 2,
    seconds: int = 10,
    headers: dict[str, str] | None = None,
    timeout_s: int = 2,
) -> WrkResult:
    """Run wrk against ``base_url`` (loopback only) with the given request script."""
    assert base_url.startswith(("http://127.", "http://localhost")), (
        "load tests target loopback only"
    )
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk not installed (make setup-test installs it)")
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "req.lua"
        script.write_text(lua)
        args = [
            wrk,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            f"--timeout={timeout_s}s",
            "-s",
            str(script),
        ]
        for k, v in (headers or {}).items():
            args += ["-H", f"{k}: {v}"]
        out = subprocess.run(
            [*args, base_url], capture_output=True, text=True, timeout=seconds + 60
        ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    non2xx = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return WrkResult(rps, p50, p99, non2xx, total)


def random_path_lua(template: str, low: int, high: int, seed: int = 42) -> str:
    """A wrk script requesting ``template`` with ``{id}`` drawn uniformly from [low, high]."""
    prefix, suffix = template.split("{id}")
    return (
        f"math.randomseed({seed})\n"
        "request = function()\n"
        f'  return wrk.format("GET", "{prefix}" .. math.random({low}, {high}) .. "{suffix}")\n'
        "end\n"
    )
