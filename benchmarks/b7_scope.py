"""B7 — tenant isolation: scoped attribute and bbox queries, RLS vs explicit predicate vs unscoped.

One run, same data (the benchmark province), same connection, modes interleaved in rounds:
unscoped (table owner, no predicate), explicit predicate (the service-layer Scope SQL),
RLS only (``SET ROLE officemap_app`` + scope settings), RLS + explicit predicate.
"""

from __future__ import annotations

import random
import time

import psycopg

from benchmarks.common import Section, benchmark_database, write_section

ROUNDS = 3
PER_ROUND = 200
MODE_SECONDS = 15.0  # a far slower mode stops early; its rate is still measured

ATTRIBUTE = (
    "SELECT id, usable_area_m2 FROM rooms WHERE building_id = %(b)s AND category = 'office'{p}"
)
BBOX = "SELECT id FROM rooms WHERE geom && ST_MakeEnvelope(%(x)s, %(y)s, %(x)s + 0.002, %(y)s + 0.002, 4490){p}"
# the service-layer predicate (backend.services.scope.rooms): the
# building's region is kept on the room (migration 0005), so it is a plain range filter
PREDICATE = " AND region_adcode BETWEEN %(lo)s AND %(hi)s"


def main() -> None:
    pg = benchmark_database()
    url = pg.url().replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as conn:
        city = conn.execute(
            "SELECT region_adcode - region_adcode % 100 FROM buildings WHERE region_adcode % 100 <> 0"
            " GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()[0]  # type: ignore[index]
        targets = conn.execute(
            "SELECT id, ST_X(ST_Centroid(footprint)) - 0.001, ST_Y(ST_Centroid(footprint)) - 0.001"
            " FROM buildings WHERE region_adcode BETWEEN %s AND %s",
            (city, city + 99),
        ).fetchall()
        rng = random.Random(7)
        modes = {
            "unscoped": ("", False),
            "explicit predicate": (PREDICATE, False),
            "RLS only": ("", True),
            "RLS + explicit predicate": (PREDICATE, True),
        }
        results: dict[tuple[str, str], list[float]] = {}
        counts: dict[tuple[str, str], int] = {}
        for _ in range(ROUNDS):
            for kind, sql in (("attribute", ATTRIBUTE), ("bbox", BBOX)):
                sample = [rng.choice(targets) for _ in range(PER_ROUND)]
                for mode, (pred, rls) in modes.items():
                    q = sql.format(p=pred)
                    with conn.transaction():
                        if rls:
                            conn.execute(
                                "SELECT set_config('officemap.regions', %s, true),"
                                " set_config('officemap.agencies', '{}', true)",
                                (f"{{[{city},{city + 99}]}}",),
                            )
                            conn.execute("SET LOCAL ROLE officemap_app")
                        rows = done = 0
                        t0 = time.perf_counter()
                        for b, x, y in sample:
                            cur = conn.execute(
                                q,
                                {"b": b, "x": x, "y": y, "lo": city, "hi": city + 99},
                                prepare=True,
                            )
                            rows += len(cur.fetchall())
                            done += 1
                            if time.perf_counter() - t0 > MODE_SECONDS:
                                break
                        dt_ = time.perf_counter() - t0
                    results.setdefault((kind, mode), []).append(done / dt_)
                    counts[(kind, mode)] = counts.get((kind, mode), 0) + rows
        rows_out = []
        for kind in ("attribute", "bbox"):
            base = sorted(results[(kind, "unscoped")])[ROUNDS // 2]
            for mode in modes:
                qps = sorted(results[(kind, mode)])[ROUNDS // 2]
                rows_out.append(
                    [
                        kind,
                        mode,
                        f"{qps:,.0f}",
                        f"{qps / base:.2f}",
                        f"{(base / qps - 1) * 100:+.1f} %",
                        f"{counts[(kind, mode)]:,}",
                    ]
                )
                print(rows_out[-1])
        plan = "\n".join(
            r[0]
            for r in conn.execute(
                "EXPLAIN " + BBOX.format(p=""), {"x": targets[0][1], "y": targets[0][2]}
            ).fetchall()
        )
    write_section(
        Section(
            key="B7",
            title="Tenant isolation: scoped queries, RLS vs explicit predicate vs unscoped",
            header=[
                "query",
                "mode",
                "queries/s (median of rounds)",
                "× unscoped",
                "overhead",
                "rows returned",
            ],
            rows=rows_out,
            notes=[
                f"Benchmark province; scope = the city {city} with the most buildings; {ROUNDS} rounds × {PER_ROUND} "
                "queries per mode, modes interleaved, one connection, prepared statements, Python client loop "
                "(client overhead included in every mode alike).",
                "attribute: office rooms of one random building of that city; bbox: rooms in a 0.002° box at a random "
                "building of that city (GiST on rooms.geom).",
                "RLS: SET LOCAL ROLE officemap_app (NOSUPERUSER NOBYPASSRLS) with officemap.regions set; the app itself "
                "connects as the table owner and relies on the explicit predicate — RLS is the second wall. "
                "geometry_overlaps (&&) is marked LEAKPROOF by migration 0006, so bbox queries under RLS keep the "
                "GiST index (before: a full scan, ~2 queries/s).",
                "Rows returned: totals over the queries run (equal across modes when every query ran; a mode "
                f"slower than {MODE_SECONDS:.0f} s per round stops early and returns fewer).",
                "Ratios, not absolute figures, are the result (2-core machine; other work may run beside it).",
                "Unscoped bbox plan: " + plan.replace("\n", " / "),
            ],
        )
    )


if __name__ == "__main__":
    main()
