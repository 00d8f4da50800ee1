"""``officemap demo``: generate the demo (or benchmark) province into an empty register."""

from __future__ import annotations

import enum
from typing import Annotated

import typer
from sqlalchemy import create_engine

from backend.commands.common import database_url, say
from backend.commands.prepare import after_prepare
from backend.db.migrate import upgrade
from backend.settings import demo_settings


class Profile(enum.StrEnum):
    demo = "demo"
    benchmark = "benchmark"


def demo(
    profile: Annotated[
        Profile, typer.Option(help="demo, or the benchmark province")
    ] = Profile.demo,
    buildings: Annotated[
        int | None, typer.Option(help="number of generated buildings 楼栋数")
    ] = None,
    province: Annotated[
        int | None, typer.Option(help="province adcode (default 330000 Zhejiang) 省级区划代码")
    ] = None,
    seed: Annotated[int | None, typer.Option()] = None,
    no_imdf: Annotated[
        bool, typer.Option("--no-imdf", help="leave out the PolyMap IMDF venue")
    ] = False,
) -> None:
    """Generate the demo (or benchmark) province into an empty register.
    在空登记库中生成演示(或基准测试)省份。"""
    from backend.demo.generator import load_demo

    d = demo_settings()
    with database_url() as url:
        engine = create_engine(url)
        upgrade(engine)
        with engine.begin() as conn:
            report = load_demo(
                conn,
                profile=profile.value,
                buildings=buildings,
                province_adcode=province or d.province_adcode,
                seed=seed or d.seed,
                with_imdf=not no_imdf,
                log=say,
            )
        say(f"demo loaded: {report.summary()}")
        after_prepare(engine)
