"""Codes of the ledger: 统一社会信用代码 (GB 32100-2015), agency levels, ranks, categories.

Pure functions, no database. Rank names (including the 2019 公务员职务与职级 titles) map to
a step of one civil-service ladder and from there to the rank rows of the 2014 standard
for the agency's level (``data/standards/ranks.csv``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from backend import domain, reference

CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def nfkc(value: str) -> str:
    """Full-width letters, digits and punctuation to their ASCII forms; trimmed.

    >>> nfkc("　９１３３（局）Ａ ")
    '9133(局)A'
    """
    if value.isascii():  # the common case: nothing to fold
        return value.strip()
    return unicodedata.normalize("NFKC", value).replace("\u3000", " ").strip()


def credit_check_char(first17: str) -> str:
    """The 18th character of a 统一社会信用代码 (GB 32100-2015, modulus 31).

    >>> credit_check_char("91350100M000100Y4")
    '3'
    """
    total = sum(CREDIT_CHARS.index(c) * w for c, w in zip(first17, CREDIT_WEIGHTS, strict=True))
    return CREDIT_CHARS[(31 - total % 31) % 31]


def credit_code_problem(code: str) -> str | None:
    """Why ``code`` is not a valid 统一社会信用代码, or None when it is.

    >>> credit_code_problem("91350100M000100Y43") is None
    True
    >>> credit_code_problem("91350100M000100Y44")
    'checksum'
    >>> credit_code_problem("91350100I000100Y43")
    'characters'
    """
    if len(code) != 18:
        return "length"
    if any(c not in CREDIT_CHARS for c in code):
        return "characters"
    if credit_check_char(code[:17]) != code[17]:
        return "checksum"
    return None


def with_check_char(first17: str) -> str:
    """A valid code from its first 17 characters (demo data, tests)."""
    return first17 + credit_check_char(first17)


# ---------------------------------------------------------------- agency levels
LEVEL_NAMES = domain.zh(domain.AGENCY_LEVEL_NAMES)  # what the template writes
_LEVEL_ALIASES = {
    "中央": "central",
    "中央级": "central",
    "中央机关": "central",
    "部级": "central",
    "省": "province",
    "省级": "province",
    "省直": "province",
    "省级机关": "province",
    "市": "city",
    "市级": "city",
    "地市级": "city",
    "市直": "city",
    "市级机关": "city",
    "县": "county",
    "县级": "county",
    "区县级": "county",
    "县(区)级": "county",
    "县区级": "county",
    "县直": "county",
    "县级机关": "county",
    "乡": "township",
    "乡级": "township",
    "乡镇": "township",
    "乡镇级": "township",
    "乡(镇)级": "township",
    "街道": "township",
    "乡级机关": "township",
    "1": "central",
    "2": "province",
    "3": "city",
    "4": "county",
    "5": "township",
}


def parse_level(value: str) -> str | None:
    """Agency level from a Chinese word, a code 1–5 or the English name.

    >>> [parse_level(v) for v in ("省级", "县（区）级", "5", "city", "镇")]
    ['province', 'county', 'township', 'city', None]
    """
    v = nfkc(value).replace(" ", "")
    if v in LEVEL_NAMES:
        return v
    return _LEVEL_ALIASES.get(v)


# ---------------------------------------------------------------- ranks
# One ladder for every level: 1 省部级正职 … 8 乡科级副职, 9 科员及以下.
LADDER = (
    "省部级正职",
    "省部级副职",
    "厅局级正职",
    "厅局级副职",
    "县处级正职",
    "县处级副职",
    "乡科级正职",
    "乡科级副职",
    "科员及以下",
)

_STEP_NAMES: dict[int, tuple[str, ...]] = {
    1: ("省部级正职", "正部级", "正省部级", "省级正职", "部级正职", "正省级"),
    2: ("省部级副职", "副部级", "副省部级", "省级副职", "部级副职", "副省级"),
    3: (
        "厅局级正职",
        "正厅级",
        "正局级",
        "正厅局级",
        "正司级",
        "正司局级",
        "正厅(局)级",
        "正司(局)级",
        "市级正职",
        "地厅级正职",
        "一级巡视员",
        "巡视员",
    ),
    4: (
        "厅局级副职",
        "副厅级",
        "副局级",
        "副厅局级",
        "副司级",
        "副司局级",
        "副厅(局)级",
        "副司(局)级",
        "市级副职",
        "地厅级副职",
        "二级巡视员",
        "副巡视员",
    ),
    5: (
        "县处级正职",
        "正处级",
        "正县级",
        "正县处级",
        "县级正职",
        "处级",
        "处长",
        "一级调研员",
        "二级调研员",
        "调研员",
    ),
    6: (
        "县处级副职",
        "副处级",
        "副县级",
        "副县处级",
        "县级副职",
        "副处长",
        "三级调研员",
        "四级调研员",
        "副调研员",
    ),
    7: (
        "乡科级正职",
        "正科级",
        "正乡级",
        "正乡科级",
        "乡级正职",
        "科长",
        "一级主任科员",
        "二级主任科员",
        "主任科员",
        "处级以下",
        "局(处)级以下",
    ),
    8: (
        "乡科级副职",
        "副科级",
        "副乡级",
        "副乡科级",
        "乡级副职",
        "副科长",
        "三级主任科员",
        "四级主任科员",
        "副主任科员",
    ),
    9: (
        "科员及以下",
        "科员",
        "一级科员",
        "二级科员",
        "办事员",
        "试用期人员",
        "科级以下",
        "一般工作人员",
        "乡级一般工作人员",
    ),
}

# ladder step -> rank code of the standard at each agency level (None: above its table)
_LEVEL_STEPS: dict[str, tuple[str | None, ...]] = {
    "central": (
        "minister",
        "vice_minister",
        "director_general",
        "deputy_director_general",
        "division",
        "division",
        "below_division",
        "below_division",
        "below_division",
    ),
    "province": (
        "provincial_head",
        "provincial_deputy",
        "department_head",
        "department_deputy",
        "division_head",
        "division_deputy",
        "below_division",
        "below_division",
        "below_division",
    ),
    "city": (
        None,
        None,
        "city_head",
        "city_deputy",
        "bureau_head",
        "bureau_deputy",
        "below_bureau",
        "below_bureau",
        "below_bureau",
    ),
    "county": (
        None,
        None,
        None,
        None,
        "county_head",
        "county_deputy",
        "section_head",
        "section_deputy",
        "below_section",
    ),
    "township": (
        None,
        None,
        None,
        None,
        None,
        None,
        "township_head",
        "township_deputy",
        "below_township",
    ),
}


def _rank_key(value: str) -> str:
    return re.sub(r"[\s()（）]", "", nfkc(value))


@lru_cache
def _step_of() -> dict[str, int]:
    return {_rank_key(n): step for step, names in _STEP_NAMES.items() for n in names}


@dataclass(frozen=True)
class RankRow:
    agency_level: str
    rank_code: str
    name_zh: str


@lru_cache
def rank_rows() -> tuple[RankRow, ...]:
    """The standard's rank rows (backend.reference)."""
    return tuple(
        RankRow(r.agency_level, r.rank_code, r.name_zh) for r in reference.ranks().values()
    )


@lru_cache
def rank_name(agency_level: str, rank_code: str) -> str:
    """Chinese name of a rank row, as the ledger template writes it."""
    for r in rank_rows():
        if r.agency_level == agency_level and r.rank_code == rank_code:
            return r.name_zh
    return rank_code


@dataclass(frozen=True)
class RankMatch:
    rank_code: str
    capped: bool = False  # the title lies above the level's table: its top row is used


@lru_cache(maxsize=4096)
def map_rank(value: str, agency_level: str) -> RankMatch | None:
    """The standard's rank row for a Chinese rank or 2019 职级 title; None if unknown.

    >>> map_rank("二级巡视员", "province"), map_rank("三级主任科员", "county")
    (RankMatch(rank_code='department_deputy', capped=False), RankMatch(rank_code='section_deputy', capped=False))
    >>> map_rank("正局（处）级", "city").rank_code, map_rank("处级", "central").rank_code
    ('bureau_head', 'division')
    >>> map_rank("一级调研员", "township")
    RankMatch(rank_code='township_head', capped=True)
    >>> map_rank("大队长", "county") is None
    True
    """
    key = _rank_key(value)
    if not key:
        return None
    own = {_rank_key(r.name_zh): r.rank_code for r in rank_rows() if r.agency_level == agency_level}
    if key in own:
        return RankMatch(own[key])
    codes = {r.rank_code for r in rank_rows() if r.agency_level == agency_level}
    if key in codes:
        return RankMatch(key)
    step = _step_of().get(key)
    if step is None or agency_level not in _LEVEL_STEPS:
        return None
    row = _LEVEL_STEPS[agency_level]
    code = row[step - 1]
    if code is not None:
        return RankMatch(code)
    top = next(c for c in row if c is not None)
    return RankMatch(top, capped=True)


def ladder_rank(step: int, agency_level: str) -> str | None:
    """Rank code of ladder step 1–9 at ``agency_level`` (None above the level's table)."""
    return _LEVEL_STEPS[agency_level][step - 1]


def ladder_step_for(agency_level: str, rank_code: str) -> int | None:
    """The first ladder step that maps to ``rank_code`` (where the template writes it)."""
    for i, code in enumerate(_LEVEL_STEPS.get(agency_level, ())):
        if code == rank_code:
            return i + 1
    return None


# ---------------------------------------------------------------- space categories
def group_names() -> dict[str, str]:
    """Category → its Chinese name (办公室用房 …), from backend.reference."""
    return reference.category_names_zh()


@lru_cache
def subcategories() -> dict[str, tuple[str, str]]:
    """Subcategory code → (group, Chinese name) (backend.reference)."""
    return {c.code: (c.category, c.name_zh) for c in reference.space_categories().values()}


@lru_cache
def _category_names() -> dict[str, tuple[str, str | None]]:
    out: dict[str, tuple[str, str | None]] = {}
    for group, name in group_names().items():
        out[_rank_key(name)] = (group, None)
        out[group] = (group, None)
    for code, (group, name) in subcategories().items():
        out[_rank_key(name)] = (group, code)
        out[code] = (group, code)
    extra = {
        "办公室": ("office", None),
        "领导办公室": ("office", "office.leader_office"),
        "办公用房": ("office", None),
        "一般办公室": ("office", "office.staff_office"),
        "工作人员办公室": ("office", "office.staff_office"),
        "锅炉房": ("equipment", "equipment.boiler"),
        "换热站": ("equipment", "equipment.boiler"),
        "车库": ("ancillary", "ancillary.car_garage"),
        "业务用房": ("technical", "technical.business"),
        "技术业务用房": ("technical", "technical.business"),
    }
    for name, v in extra.items():
        out.setdefault(_rank_key(name), v)
    return out


@lru_cache(maxsize=4096)
def map_category(value: str) -> tuple[str, str | None] | None:
    """(group, subcategory) of a Chinese 2014 category or subcategory name.

    >>> map_category("会议室"), map_category("办公室用房"), map_category("机房")
    (('service', 'service.meeting'), ('office', None), None)
    """
    return _category_names().get(_rank_key(value))


def category_label(category: str | None, subcategory: str | None) -> str | None:
    """What the template writes for a room's category (the finest name known)."""
    if subcategory and subcategory in subcategories():
        return subcategories()[subcategory][1]
    if category:
        return group_names().get(category, category)
    return None


OWNERSHIP_NAMES = domain.zh(domain.OWNERSHIP_NAMES)
_OWNERSHIP_ALIASES = {
    "自有": "owned",
    "产权": "owned",
    "自建": "owned",
    "划拨": "owned",
    "租用": "leased",
    "租赁": "leased",
    "承租": "leased",
    "借用": "borrowed",
    "无偿借用": "borrowed",
    "owned": "owned",
    "leased": "leased",
    "borrowed": "borrowed",
}


def parse_ownership(value: str) -> str | None:
    return _OWNERSHIP_ALIASES.get(nfkc(value).replace(" ", ""))
