"""Run every benchmark module (benchmarks/b*.py) in order: ``python -m benchmarks.run [B3 …]``."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import benchmarks


def main(argv: list[str]) -> int:
    wanted = {a.upper() for a in argv}
    names = sorted(
        m.name
        for m in pkgutil.iter_modules(benchmarks.__path__)
        if m.name[:1] == "b" and m.name[1:2].isdigit()
    )
    for name in names:
        key = name.split("_", 1)[0].upper()
        if wanted and key not in wanted:
            continue
        print(f"== {key}: benchmarks.{name}", flush=True)
        importlib.import_module(f"benchmarks.{name}").main()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
