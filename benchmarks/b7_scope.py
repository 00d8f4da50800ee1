"""B7 — tenant isolation on the app's real path: scoped attribute and bbox queries as the
app's LOGIN role (RLS live, FORCE) with the explicit predicate, vs unscoped.

One run, same data (the benchmark province), modes interleaved query by query:
- unscoped: the owner, no predicate (the anchor);
- explicit predicate: the owner with the service-layer predicate (no RLS: superuser);
- app path: ``officemap_web`` (member of officemap_app, no owner/superuser/BYPASSRLS),
  the scope written into the transaction as the app writes it, RLS live, explicit predicate;
- RLS only: the same role without the explicit predicate (what the second wall costs alone).
"""

from __future__ import annotations

import random
import statistics
import time
from typing import Any

import psycopg

from backend.db import roles
from benchmarks.common import Section, app_url, benchmark_database, write_section

ROUNDS = 7
PER_ROUND = 300
SERVER_SAMPLE = 300

ATTRIBUTE = (
    "SELECT id, usable_area_m2 FROM rooms WHERE building_id = %(b)s AND category = 'office'{p}"
)
BBOX = (
    "SELECT id FROM rooms"
    " WHERE geom && ST_MakeEnvelope(%(x)s, %(y)s, %(x)s + 0.002, %(y)s + 0.002, 4490){p}"
)
# the service-layer predicate (backend.services.scope.rooms): the
# building's region is kept on the room (migration 0005), so it is a plain range filter
PING = "SELECT 1"
PREDICATE = " AND region_adcode BETWEEN %(lo)s AND %(hi)s"
# what every request writes first (backend.accounts.users: claimed user + scope settings)
SETTINGS = (
    "SELECT set_config('officemap.user', 'planner', true),"
    " set_config('officemap.unrestricted', '', true),"
    " set_config('officemap.regions', %(r)s, true),"
    " set_config('officemap.agencies', '{}', true)"
)


# what the profiling of 2026-12-01 found (benchmarks/RESULTS.md keeps it with the figures)
ANALYSIS = [
    "Where the overhead goes (2026-12-01, probes interleaved query by query like this"
    " benchmark, load average 10–12): PostgreSQL plans the attribute query once (generic"
    " plan in every mode: pg_prepared_statements 395 generic / 5 custom) and re-plans every"
    " bbox query (custom plans in every mode), so plan caching does not differ between the"
    " modes. Server side the policy costs ~+25 µs of planning (its three initplans) and"
    " +10–30 µs of execution (the initplans and the per-row policy test). The same policy with"
    " the setting expressions written inline instead of the PL/pgSQL scope functions measured"
    " the same (attribute 172 vs 175 µs, bbox 278 vs 283 µs, same run), so the functions are"
    " not the cost. A plain primary-key read of an RLS-free table is ~10 µs slower for the app"
    " role than for the superuser owner (privilege checks through the officemap_app membership),"
    " and a query that takes longer is more often descheduled on the overloaded 2 cores, which"
    " is why the client-side difference runs ahead of EXPLAIN's figures. The explicit predicate"
    " alone costs the owner +8–19 %; row-level security alone +5–60 % depending on the run:"
    " at ~100–300 µs per query, ≤ 10 % leaves 10–30 µs, about what planning the policy costs.",
]


def _plan(conn: psycopg.Connection[Any], sql: str, params: dict[str, Any]) -> str:
    return " / ".join(r[0] for r in conn.execute("EXPLAIN " + sql, params).fetchall())


def _server_times(
    conn: psycopg.Connection[Any], sql: str, params: dict[str, Any]
) -> tuple[float, float]:
    """PostgreSQL's own planning and execution time of one query (ms), without the client."""
    lines = [r[0] for r in conn.execute("EXPLAIN (ANALYZE, SUMMARY) " + sql, params).fetchall()]
    plan = next(x for x in lines if x.startswith("Planning Time"))
    run = next(x for x in lines if x.startswith("Execution Time"))
    return float(plan.split()[2]), float(run.split()[2])


def main() -> None:
    pg = benchmark_database()
    owner_url, login_url = pg.url(), app_url(pg)
    check = roles.check_app_role(login_url)
    assert check.ok, check.problems
    owner = psycopg.connect(roles.libpq(owner_url), autocommit=True)
    app = psycopg.connect(roles.libpq(login_url), autocommit=True)
    with owner, app:
        city = owner.execute(
            "SELECT region_adcode - region_adcode % 100 FROM buildings"
            " WHERE region_adcode % 100 <> 0 GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()[0]  # type: ignore[index]
        targets = owner.execute(
            "SELECT id, ST_X(ST_Centroid(footprint)) - 0.001, ST_Y(ST_Centroid(footprint)) - 0.001"
            " FROM buildings WHERE region_adcode BETWEEN %s AND %s",
            (city, city + 99),
        ).fetchall()
        scope = {"r": f"{{[{city},{city + 99}]}}"}
        rng = random.Random(7)
        modes: dict[str, tuple[psycopg.Connection[Any], str, bool]] = {
            "unscoped (owner)": (owner, "", False),
            "explicit predicate (owner)": (owner, PREDICATE, False),
            "app path: app role, RLS + explicit predicate": (app, PREDICATE, True),
            "app role, RLS only": (app, "", True),
        }
        results: dict[tuple[str, str], list[float]] = {}
        latencies: dict[tuple[str, str], list[float]] = {}
        counts: dict[tuple[str, str], int] = {}
        for _ in range(ROUNDS):
            for kind, sql in (("attribute", ATTRIBUTE), ("bbox", BBOX)):
                sample = [rng.choice(targets) for _ in range(PER_ROUND)]
                spent = dict.fromkeys(modes, 0.0)
                # the app's transaction carries the scope settings, written once per round
                with owner.transaction(), app.transaction():
                    app.execute(SETTINGS, scope)
                    for b, x, y in sample:
                        params = {"b": b, "x": x, "y": y, "lo": city, "hi": city + 99}
                        owner.execute(sql.format(p=""), params, prepare=True).fetchall()  # warm
                        # modes interleaved query by query, in random order: the machine's
                        # other work and the buffer cache weigh on every mode alike
                        order = list(modes.items())
                        rng.shuffle(order)
                        for mode, (conn, pred, _scoped) in order:
                            # wake this connection's backend first (untimed): on a busy
                            # machine a sleeping backend waits for a CPU, whichever mode it is
                            conn.execute(PING, prepare=True).fetchall()
                            t0 = time.perf_counter()
                            cur = conn.execute(sql.format(p=pred), params, prepare=True)
                            n = len(cur.fetchall())
                            took = time.perf_counter() - t0
                            spent[mode] += took
                            latencies.setdefault((kind, mode), []).append(took)
                            counts[(kind, mode)] = counts.get((kind, mode), 0) + n
                for mode in modes:
                    results.setdefault((kind, mode), []).append(len(sample) / spent[mode])
        rows_out = []
        verdict: dict[str, float] = {}
        for kind in ("attribute", "bbox"):
            base = sorted(results[(kind, "unscoped (owner)")])[ROUNDS // 2]
            base_p50 = statistics.median(latencies[(kind, "unscoped (owner)")])
            for mode in modes:
                qps = sorted(results[(kind, mode)])[ROUNDS // 2]
                p50 = statistics.median(latencies[(kind, mode)])
                rows_out.append(
                    [
                        kind,
                        mode,
                        f"{qps:,.0f}",
                        f"{(base / qps - 1) * 100:+.1f} %",
                        f"{p50 * 1e6:,.0f} µs",
                        f"{(p50 / base_p50 - 1) * 100:+.1f} %",
                        f"{counts[(kind, mode)]:,}",
                    ]
                )
                print(rows_out[-1])
                if mode.startswith("app path"):
                    verdict[kind] = (p50 / base_p50 - 1) * 100
        # server side: planning and execution medians, owner + predicate vs the app path
        server: dict[str, list[tuple[float, float]]] = {"owner": [], "app": []}
        with owner.transaction(), app.transaction():
            app.execute(SETTINGS, scope)
            for b, x, y in [rng.choice(targets) for _ in range(SERVER_SAMPLE)]:
                params = {"b": b, "x": x, "y": y, "lo": city, "hi": city + 99}
                for name, conn in (("owner", owner), ("app", app)):
                    server[name].append(_server_times(conn, BBOX.format(p=PREDICATE), params))
        medians = {
            name: (statistics.median(p for p, _ in v), statistics.median(e for _, e in v))
            for name, v in server.items()
        }
        print("server-side bbox medians (plan, exec ms):", medians)
        owner_total, app_total = sum(medians["owner"]), sum(medians["app"])
        t = targets[0]
        params = {"b": t[0], "x": t[1], "y": t[2], "lo": city, "hi": city + 99}
        with app.transaction():
            app.execute(SETTINGS, scope)
            app_plan = _plan(app, BBOX.format(p=PREDICATE), params)
    write_section(
        Section(
            key="B7",
            title="Tenant isolation on the app's real path: app role, RLS live, explicit predicate",
            header=[
                "query",
                "mode",
                "queries/s (median of rounds)",
                "overhead (queries/s)",
                "median latency",
                "overhead (median latency)",
                "rows returned",
            ],
            rows=rows_out,
            notes=[
                "Target ≤ 10 % over unscoped on the app path: "
                + ("met" if max(verdict.values()) <= 10 else "NOT met")
                + " (median latency: "
                + ", ".join(f"{k} {v:+.0f} %" for k, v in verdict.items())
                + f"; PostgreSQL's own bbox time {app_total / owner_total * 100 - 100:+.0f} %).",
                f"Benchmark province; scope = the city {city} with the most buildings; {ROUNDS} rounds"
                f" × {PER_ROUND} queries per mode, prepared statements (custom plans: PostgreSQL"
                " re-plans each bbox query in every mode), one connection per role, Python client"
                " loop (client overhead in every mode alike).",
                "attribute: office rooms of one random building of that city; bbox: rooms in a"
                " 0.002° box at a random building of that city (GiST on rooms.geom).",
                "App path: the connection signs in as officemap_web (LOGIN, member of"
                " officemap_app; not owner, superuser or BYPASSRLS — checked before the run),"
                " rooms has FORCE ROW LEVEL SECURITY (migration 0008), the transaction gets the"
                " settings every request writes (claimed user, unrestricted, regions, agencies)"
                " once, then the queries run with the service-layer predicate, as the app's"
                " requests do. The owner modes run as the embedded cluster's superuser.",
                "The settings statement itself (one round trip per request transaction) is not"
                " in the figures: it is per request, not per query.",
                "Modes are interleaved query by query in random order after an untimed warm-up"
                " of the same query (cache state alike); each timed query follows an untimed"
                " SELECT 1 on its own connection (its backend awake), and is timed around its"
                " execute + fetch; rows returned are totals over all rounds.",
                "Ratios, not absolute figures, are the result: the 2-core machine ran other"
                " engineers' test suites during the run (load average about 11), so the"
                " rates of whole rounds swing by tens of per cent; the median of the"
                " per-query latencies (every mode's queries interleaved) is the steadier figure.",
                "Server side (EXPLAIN ANALYZE, medians of"
                f" {SERVER_SAMPLE} bbox queries with the predicate, interleaved): owner planning"
                f" {medians['owner'][0] * 1000:.0f} µs + execution {medians['owner'][1] * 1000:.0f} µs;"
                f" app path planning {medians['app'][0] * 1000:.0f} µs + execution"
                f" {medians['app'][1] * 1000:.0f} µs. The policy adds its three initplans to every"
                " (custom) plan and `$0 OR agency_id = ANY($1) OR region_adcode <@ $2` to every"
                " row the index finds.",
                "App path bbox plan: " + app_plan,
                *ANALYSIS,
            ],
        )
    )


if __name__ == "__main__":
    main()
