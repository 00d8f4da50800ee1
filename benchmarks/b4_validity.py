"""B4: our validity check (shapely 2 is_valid / is_valid_reason, as gis.validate) against
PostGIS ST_IsValid on the same 1,000,000 rooms plus a set of invalid cases."""

from __future__ import annotations

import time

import numpy as np
import shapely
from sqlalchemy import create_engine, text

from benchmarks.common import Section, benchmark_database, write_section
from gis import validate

N = 1_000_000
CASES = [
    "POLYGON((0 0, 2 2, 2 0, 0 2, 0 0))",  # bow-tie
    "POLYGON((0 0, 4 0, 4 2, 7 2, 4 2, 4 4, 0 4, 0 0))",  # spike
    "POLYGON((0 0, 3 0, 3 3, 0 3, 0 0), (5 5, 6 5, 6 6, 5 6, 5 5))",  # hole outside shell
    "POLYGON((0 0, 2 0, 4 0, 0 0))",  # zero area
    "POLYGON((0 0, 10 0, 10 10, 0 10, 0 0), (1 1, 9 1, 9 9, 1 9, 1 1), (2 2, 3 2, 3 3, 2 3, 2 2))",
    "MULTIPOLYGON(((0 0, 2 0, 2 2, 0 2, 0 0)), ((1 1, 3 1, 3 3, 1 3, 1 1)))",  # overlapping shells
    "POLYGON((0 0, 4 0, 4 4, 0 4, 0 0), (0 0, 2 1, 1 2, 0 0))",  # hole touching at a point: valid
    "POLYGON((0 0, 1 0, 1 1, 0 1, 0 0))",
]


def main() -> None:
    pg = benchmark_database()
    engine = create_engine(pg.url())
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, ST_AsBinary(geom) FROM rooms ORDER BY id LIMIT :n"), {"n": N}
        ).all()
        maxid = rows[-1][0]
        t0 = time.perf_counter()
        theirs = dict(
            conn.execute(
                text("SELECT id, ST_IsValid(geom) FROM rooms WHERE id <= :m"), {"m": maxid}
            ).all()
        )
        t_pg = time.perf_counter() - t0
        case_pg = [
            conn.execute(text("SELECT ST_IsValid(ST_GeomFromText(:w))"), {"w": w}).scalar()
            for w in CASES
        ]
    ids = [r[0] for r in rows]
    geoms = shapely.from_wkb([bytes(r[1]) for r in rows])
    t0 = time.perf_counter()
    mine = shapely.is_valid(geoms)
    t_ours = time.perf_counter() - t0
    agree = float(np.mean(mine == np.array([theirs[i] for i in ids])))
    cases = shapely.from_wkt(CASES)
    case_ours = shapely.is_valid(cases)
    reasons = [i.code for i in validate.invalid(cases, list(range(len(CASES))))]
    case_agree = sum(bool(a) == bool(b) for a, b in zip(case_ours, case_pg, strict=True))
    write_section(
        Section(
            "B4",
            "Validity: shapely 2 (GEOS) vs PostGIS ST_IsValid",
            header=["", "geometries", "seconds", "geoms/s", "ratio (ours / PostGIS speed)"],
            rows=[
                [
                    "ours: shapely.is_valid (vectorised)",
                    f"{len(ids):,}",
                    f"{t_ours:.2f}",
                    f"{len(ids) / t_ours:,.0f}",
                    f"{t_pg / t_ours:.2f}×",
                ],
                [
                    "PostGIS ST_IsValid (incl. row transfer)",
                    f"{len(ids):,}",
                    f"{t_pg:.2f}",
                    f"{len(ids) / t_pg:,.0f}",
                    "1×",
                ],
            ],
            notes=[
                f"verdict agreement on the {len(ids):,} rooms: {agree:.4%}",
                f"verdict agreement on {len(CASES)} hand-made cases (bow-tie, spike, hole outside shell, zero area, nested holes, overlapping shells, touching hole, valid square): {case_agree}/{len(CASES)}; our reason codes: {', '.join(reasons)}",
                "one run; the 2-core machine was shared with other engineers' work",
            ],
        )
    )
    print(
        f"ours {t_ours:.2f} s, PostGIS {t_pg:.2f} s, agreement {agree:.4%}, cases {case_agree}/{len(CASES)}"
    )


if __name__ == "__main__":
    main()
