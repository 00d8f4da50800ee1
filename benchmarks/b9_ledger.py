"""B9 — ledger import (stock-take): a generated province ledger imported end to end vs the floor.

The workbook: ≥ 10,000 agencies, 20,000 buildings, ≥ 1,000,000 room rows and ≥ 300,000
occupant rows (xlsx, the import template's layout), for the counties of the demo province.
Ours: ``backend.stocktake.service.import_ledger`` — read (python-calamine), every check,
references resolved, compared with the register, COPY into the tables; the transaction is
rolled back after each timed run so every run imports into the same empty ledger.
The floor: python-calamine reading the same workbook + a plain COPY of every row (text) into
unlogged tables. Each runs in its own forked process (peak RSS measured there).

Run: ``.venv/bin/python -m benchmarks.b9_ledger [scale]`` (scale 1.0 = the full size).
"""

from __future__ import annotations

import multiprocessing as mp
import random
import resource
import sys
import time
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from python_calamine import CalamineWorkbook
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from backend.accounts.access import SYSTEM
from backend.db.migrate import upgrade
from benchmarks.common import BENCH_ROOT, Section, benchmark_cluster, write_section

AGENCIES = 10_000
BUILDINGS = 20_000
ROOMS = 1_000_000
OCCUPANTS = 300_000
DB = "b9_ledger"
RANKS = ("县级正职", "县级副职", "正科级", "副科级", "一级科员", "四级主任科员", "二级调研员")
CATEGORIES = ("一般工作人员办公室", "领导人员办公室", "会议室", "档案室", "卫生间", "储藏室")


def _database() -> str:
    pg = benchmark_cluster()
    admin = create_engine(pg.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        if not c.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": DB}).first():
            c.execute(text(f"CREATE DATABASE {DB}"))
    admin.dispose()
    url = pg.url().rsplit("/", 1)[0] + f"/{DB}"
    engine = create_engine(url)
    upgrade(engine)
    from backend.demo.generator import load_demo, register_is_empty
    from backend.stocktake import regions

    with engine.begin() as conn:
        if register_is_empty(conn):
            load_demo(conn, buildings=10, seed=1, with_imdf=False)
    with Session(engine) as s, s.begin():
        regions.load_townships(s)
    engine.dispose()
    return url


def _counties(url: str) -> list[int]:
    engine = create_engine(url)
    with engine.connect() as c:
        out = [
            int(a) for (a,) in c.execute(text("SELECT adcode FROM regions WHERE level = 'county'"))
        ]
    engine.dispose()
    return out


def generate(path: Path, counties: list[int], scale: float) -> dict[str, int]:
    """The ledger workbook (write-only openpyxl: rows streamed)."""
    from backend.stocktake.codes import LADDER, with_check_char

    rng = random.Random(9)
    n_ag, n_b = int(AGENCIES * scale), int(BUILDINGS * scale)
    n_r, n_o = int(ROOMS * scale), int(OCCUPANTS * scale)
    wb = Workbook(write_only=True)
    codes = [
        with_check_char(f"11{counties[i % len(counties)]:06d}{i:09d}"[:17]) for i in range(n_ag)
    ]
    ws = wb.create_sheet("单位")
    ws.append(["党政机关办公用房清查登记表（单位）"])
    ws.append(
        ["统一社会信用代码", "单位名称", "单位级别", "行政区划代码", "核定面积", "核定编制"]
        + [None] * (len(LADDER) - 1)
    )
    ws.append([None] * 5 + list(LADDER))
    for i, c in enumerate(codes):
        quota = [rng.randint(0, 5) if 5 <= s <= 9 else None for s in range(1, 10)]
        ws.append(
            [
                c,
                f"B9测试单位{i}",
                "县级",
                counties[i % len(counties)],
                f"{rng.randint(200, 5000)}.00㎡",
                *quota,
            ]
        )
    ws = wb.create_sheet("房屋")
    ws.append(["房屋名称", "坐落", "管理单位", "经度", "纬度", "证载面积", "发证日期"])
    for j in range(n_b):
        ws.append(
            [
                f"B9楼{j}",
                f"某路{j}号",
                codes[j % n_ag],
                120 + rng.random(),
                29 + rng.random(),
                "3,000.00",
                "2010年5月1日",
            ]
        )
    ws = wb.create_sheet("房间")
    ws.append(["房屋名称", "楼层", "房间号", "用房类别", "账面面积", "使用单位"])
    per_building = max(1, n_r // n_b)
    rooms = []
    for k in range(n_r):
        b, idx = k // per_building % n_b, k % per_building
        level, number = idx // 20 + 1, f"{idx // 20 + 1}{idx % 20:02d}"
        rooms.append((b, level, number))
        ws.append(
            [
                f"B9楼{b}",
                level,
                number,
                CATEGORIES[k % len(CATEGORIES)],
                f"{rng.uniform(9, 60):.2f}㎡",
                codes[b % n_ag],
            ]
        )
    ws = wb.create_sheet("使用人")
    ws.append(["人员编号", "姓名", "职级", "所在单位", "房屋名称", "楼层", "房间号", "起始日期"])
    for p in range(n_o):
        b, level, number = rooms[(p * 3) % len(rooms)]
        ws.append(
            [
                f"P{p:07d}",
                f"人员{p}",
                RANKS[p % len(RANKS)],
                codes[b % n_ag],
                f"B9楼{b}",
                level,
                number,
                "2024.3.1",
            ]
        )
    wb.save(path)
    return {"agencies": n_ag, "buildings": n_b, "rooms": n_r, "occupants": n_o}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _ours(url: str, path: str, out: Any) -> None:
    from backend.stocktake import service

    engine = create_engine(url)
    data = Path(path).read_bytes()
    t0 = time.perf_counter()
    with Session(engine) as s:
        s.begin()
        outcome = service.import_ledger(
            s, service.LedgerRequest(filename="b9.xlsx", data=data), principal=SYSTEM
        )
        s.flush()
        elapsed = time.perf_counter() - t0
        s.rollback()
    engine.dispose()
    out.send((elapsed, _peak_mb(), outcome.status, outcome.report["totals"]))


def _floor(url: str, path: str, out: Any) -> None:
    import psycopg

    t0 = time.perf_counter()
    wb = CalamineWorkbook.from_path(path)
    rows = 0
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        for name in wb.sheet_names:
            data = wb.get_sheet_by_name(name).to_python()
            width = max(len(r) for r in data)
            cols = ", ".join(f"c{i} text" for i in range(width))
            table = f"b9_floor_{abs(hash(name)) % 10_000}"
            conn.execute(f"CREATE UNLOGGED TABLE IF NOT EXISTS {table} ({cols})")
            conn.execute(f"TRUNCATE {table}")
            with conn.cursor() as cur, cur.copy(f"COPY {table} FROM STDIN") as copy:
                for r in data:
                    copy.write_row(
                        [None if v == "" else str(v) for v in r] + [None] * (width - len(r))
                    )
            rows += len(data)
        conn.commit()
    out.send((time.perf_counter() - t0, _peak_mb(), "floor", rows))


def _run(target: Any, *args: Any) -> Any:
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe()
    p = ctx.Process(target=target, args=(*args, child))
    p.start()
    result = parent.recv()
    p.join()
    return result


def main(argv: list[str] | None = None) -> None:
    scale = float((argv or sys.argv[1:] or ["1.0"])[0])
    url = _database()
    path = BENCH_ROOT.parent / f"b9-ledger-{scale:g}.xlsx"
    t0 = time.perf_counter()
    sizes = generate(path, _counties(url), scale) if not path.exists() else None
    gen = time.perf_counter() - t0
    mb = path.stat().st_size / 2**20
    floor_s, floor_rss, _, floor_rows = _run(_floor, url, str(path))
    ours_s, ours_rss, status, totals = _run(_ours, url, str(path))
    rows = sum(t.get("rows_read", 0) for t in totals.values())
    section = Section(
        "B9",
        "Ledger import: generated province ledger (xlsx) end to end vs calamine + COPY floor",
        header=["path", "seconds", "rows/s", "peak RSS (MB)", "ratio to floor"],
        rows=[
            [
                "floor: python-calamine read + plain COPY (text)",
                f"{floor_s:.1f}",
                f"{floor_rows / floor_s:,.0f}",
                f"{floor_rss:,.0f}",
                "1.00",
            ],
            [
                "ours: import_ledger (read, check, resolve, diff, COPY)",
                f"{ours_s:.1f}",
                f"{rows / ours_s:,.0f}",
                f"{ours_rss:,.0f}",
                f"{ours_s / floor_s:.2f}",
            ],
        ],
        notes=[
            f"workbook: {mb:.0f} MB, {rows:,} data rows ("
            + ", ".join(f"{k} {v.get('rows_read', 0):,}" for k, v in totals.items())
            + f"); status {status}"
            + (f"; generated in {gen:.0f} s" if sizes else ""),
            "ours runs in one transaction rolled back after the timing (an empty ledger each run); "
            "the floor copies the raw cell text of every row into unlogged tables",
            "target: ≤ 2× the floor's time, peak RSS ≤ 2 GB",
            "ours writes its rows with INSERT … SELECT FROM unnest(arrays) (the app's role is "
            "under row-level security, which refuses COPY); the floor uses COPY",
        ],
    )
    write_section(section)
    print(section.markdown())


if __name__ == "__main__":
    main()
