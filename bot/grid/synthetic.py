"""A Weibin-scale district (8 streets and towns, 56 communities, 639 grids) and a year of cases, to measure.

Everything is derived from `seed`, so two runs with the same seed produce the same rows. Street and town names
and 姜谭街道's communities are real; other community names are plausible but not an official list; compounds,
people, phones and chat ids are made up. Rows go in with bulk inserts and explicit ids (PostgreSQL sequences
are moved past them afterwards), into a database whose grid is still empty.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from typing import Any

from sqlalchemy import JSON, Column, Enum, Table, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.types import TypeEngine

from bot.grid.district import DistrictSummary
from models import (
    Case,
    CaseEvent,
    CaseKind,
    CaseStatus,
    ChatGroup,
    GridUnit,
    Identity,
    Rating,
    Resident,
    Staff,
    StaffRole,
    UnitLevel,
)
from models.base import UTCDateTime

DISTRICT_CODE = "610302"
CHUNK = 5000
GRIDS_TOTAL = 639

# (code, name, alias, community name cores). 56 communities in all; 姜谭街道's ten are the real ones.
STREETS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("JEL", "经二路街道", "经二路", ("红旗路", "经二路", "东风路", "新华路", "公园路", "宝烟", "川陕路", "解放路", "中山西路")),
    ("QJ", "清姜街道", "清姜", ("清姜路", "茵香河", "宝桥", "渭工", "嘉陵", "长乐塬", "马营路", "宝光", "清姜河")),
    ("JT", "姜谭街道", "姜谭", ("姜谭路", "市铁塔厂", "市发电厂", "中心医院", "宝鸡卫校", "钢管厂", "氮肥厂", "秦机", "谭家",
                           "桑园铺")),
    ("QN", "桥南街道", "桥南", ("石坝河", "峪泉", "引渭路", "上马营", "烽火", "滨河", "南坡", "英达路", "渭滨花园")),
    ("JL", "金陵街道", "金陵", ("金陵路", "宝平路", "滨河南路", "汉中路", "代家湾", "火炬路", "凤凰", "巨福", "陈仓园")),
    ("SN", "神农镇", "神农", ("神农", "益门", "杨家湾", "姜城堡")),
    ("GJ", "高家镇", "高家", ("高家", "马尾", "朱家崖")),
    ("BY", "八鱼镇", "八鱼", ("八鱼", "石嘴头", "晁峪")),
)

_PREFIXES = (
    "渭水 秦岭 陈仓 炎帝 西岐 凤鸣 金台 青铜 太白 秦川 长青 和平 幸福 阳光 锦绣 华山 东岭 西秦 建设 文化 翠屏 景园 明珠 天王 "
    "开元 盛世 龙泉 紫荆 银河 绿洲 泰和 丰华 新兴 兴隆 永安 瑞祥 福临 康乐 怡和 金泰 华润 中铁 宝钛 电建 长岭 石油 机床 蟠龙 "
    "东关 西关 胜利 团结 光明 朝阳 向阳 春晖 丽景 枫林 桂园 梧桐 银杏 玉泉 清泉 碧水 蓝天 白云 南山 北苑 星河 御园 君悦 "
    "鑫源 华府 欣荣 安居 恒大 宏文 育才 红星 卧龙 塬上 河畔 滨江 万象 国贸 雍城 虢镇 周原 岐山 磻溪 钓鱼 天台 灵宝 西虢"
).split()
_KINDS = ("花园", "新村", "家园", "佳苑", "小区", "公寓", "雅居", "名苑", "家属院", "生活区", "华庭", "嘉园")
_ALIAS_KINDS = frozenset({"花园", "新村", "家园", "佳苑", "华庭", "嘉园"})  # residents add or drop 小区

_SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任"
    "姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
)
_GIVEN = (
    "建国 建华 国强 志强 秀兰 秀英 桂兰 丽华 小红 海燕 春梅 淑芬 玉兰 志明 永刚 建军 红梅 晓东 晓燕 文静 雪梅 海涛 宏伟 静 敏 伟 磊 "
    "娜 婷 强 军 勇 洋 艳 杰 涛 明 超 芳 霞 平 刚 桂英 浩然 子涵 欣怡 梓萱 宇轩 思远 佳琪 雨萱 博文 一鸣 晨曦 卫东 振华 凤霞 淑珍 "
    "玉梅 德明 立新 新民 红霞 丽娟 金凤 长青 瑞 鹏 丹 琳 斌 飞 鑫 旭 岩 倩"
).split()


@dataclass(frozen=True, slots=True)
class Matter:
    """A kind of request residents bring, with the code, name, owner and SLA config/rules.yaml gives it."""

    kind: CaseKind
    code: str | None  # the rules' category code; None for appointments, which name a service instead
    name: str
    role: StaffRole  # who handles it when no department staff fit
    department: str | None
    resolve_hours: int
    keywords: tuple[str, ...]
    texts: tuple[str, ...]
    service: str | None = None  # config/services.yaml code, for appointments


_R, _W, _A = CaseKind.REPORT, CaseKind.WISH, CaseKind.APPOINTMENT
_GRID_WORKER, _COMMUNITY_STAFF = StaffRole.GRID_WORKER, StaffRole.COMMUNITY_STAFF
MATTERS: tuple[Matter, ...] = (
    Matter(_R, "street_light", "路灯照明", _GRID_WORKER, None, 72, ("路灯", "不亮"),
           ("门口路灯坏了，晚上黑乎乎的", "路灯一直不亮")),
    Matter(_R, "sanitation", "垃圾与环境卫生", _GRID_WORKER, None, 48, ("垃圾", "没人清理"),
           ("门口垃圾堆了好几天没人清理", "垃圾桶满了溢出来")),
    Matter(_R, "noise", "噪音扰民", _GRID_WORKER, None, 48, ("噪音", "扰民"), ("晚上装修噪音太大", "广场舞音响太吵扰民")),
    Matter(_R, "water_supply", "供水", _GRID_WORKER, "供水", 24, ("停水", "水管"), ("停水一整天了", "楼道水管爆了")),
    Matter(_R, "lift", "电梯故障", _COMMUNITY_STAFF, "物业", 24, ("电梯", "坏了"),
           ("电梯又坏了，老人上下楼不方便", "电梯困人了")),
    Matter(_R, "parking", "乱停车与道路堵塞", _GRID_WORKER, None, 24, ("停车", "挡住"), ("车辆乱停挡住单元门",)),
    Matter(_R, "fire_safety", "消防通道与消防隐患", _GRID_WORKER, None, 24, ("消防通道",), ("消防通道被车堵死了",)),
    Matter(_R, "neighbour_dispute", "邻里纠纷", _GRID_WORKER, None, 168, ("邻居", "吵"),
           ("楼上楼下因为漏水吵起来了", "邻居长期占用楼道")),
    Matter(_R, "property_service", "物业服务", _COMMUNITY_STAFF, None, 120, ("物业",),
           ("物业不作为，楼道灯一直不修", "物业费收了不办事")),
    Matter(_R, "drainage", "下水道与污水", _GRID_WORKER, "物业", 48, ("下水道", "堵"), ("下水道堵了，污水外溢",)),
    Matter(_R, "greening", "绿化树木", _GRID_WORKER, None, 168, ("树枝", "杂草"),
           ("绿化带杂草丛生没人修剪", "树枝挡住了窗户")),
    Matter(_R, "ebike_charging", "电动车飞线充电", _GRID_WORKER, None, 24, ("电动车", "飞线充电"),
           ("楼道里有人飞线给电动车充电",)),
    Matter(_R, "manhole", "井盖缺损", _GRID_WORKER, "住建", 24, ("井盖",), ("雨水井盖丢了，晚上很危险",)),
    Matter(_R, "heating", "供暖", _GRID_WORKER, "热力", 48, ("暖气", "不热"), ("暖气一点都不热",)),
    Matter(_W, "public_facilities", "公共设施与健身器材", _GRID_WORKER, None, 168, ("休息椅",),
           ("希望小区里装几把休息椅", "希望增添几件健身器材")),
    Matter(_W, "elderly_care", "养老服务", _COMMUNITY_STAFF, None, 72, ("老人",),
           ("家里老人腿脚不好，希望有志愿者陪同就医",)),
    Matter(_W, "community_activities", "文体活动", _COMMUNITY_STAFF, None, 720, ("兴趣班",),
           ("希望给孩子们办个暑期兴趣班", "希望组织一次书法班")),
    Matter(_W, "hardship_help", "困难帮扶", _COMMUNITY_STAFF, None, 720, ("困难家庭",),
           ("家里是困难家庭，孩子开学想要一个新书包",)),
    Matter(_A, None, "养老服务", _COMMUNITY_STAFF, None, 72, (), ("想预约办理高龄补贴",), "elderly_care"),
    Matter(_A, None, "医保代办", _COMMUNITY_STAFF, None, 72, (), ("想预约办理医保报销",), "medical_insurance"),
    Matter(_A, None, "社保代办", _COMMUNITY_STAFF, None, 72, (), ("想预约养老金认证",), "social_security"),
    Matter(_A, None, "法律咨询（三官一律）", _COMMUNITY_STAFF, "司法所", 120, (), ("想预约律师咨询合同纠纷",),
           "legal_aid"),
    Matter(_A, None, "证明开具", _COMMUNITY_STAFF, None, 48, (), ("想预约开居住证明",), "certificates"),
)
MATTERS_BY_KIND = {kind: tuple(m for m in MATTERS if m.kind is kind) for kind in CaseKind}
# Every department the rules route to has staff: district offices, and street offices for local matters.
DISTRICT_DEPARTMENTS = ("城管", "供水", "供电", "燃气", "热力", "住建", "市场监管", "人社", "医保", "民政", "教育")
STREET_DEPARTMENTS = ("城管", "物业", "司法所", "派出所")


@dataclass
class _Rows:
    """Rows to insert, per table, with the next free id of each."""

    next_id: dict[str, int]
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def new_id(self, table: Table) -> int:
        row_id = self.next_id[table.name]
        self.next_id[table.name] = row_id + 1
        return row_id

    def add(self, table: Table, row: dict[str, Any]) -> int:
        row["id"] = self.new_id(table)
        self.tables.setdefault(table.name, []).append(row)
        return row["id"]


@dataclass(frozen=True, slots=True)
class _Grid:
    id: int
    path: str
    name: str
    street_code: str
    buildings: tuple[tuple[int, str, str], ...]  # (id, path, name)
    channel: str
    chat_id: str
    workers: tuple[tuple[int, str], ...]  # (staff id, name)
    community_staff: tuple[tuple[int, str], ...]


@dataclass(frozen=True, slots=True)
class _Community:
    id: int
    path: str
    street_code: str
    staff: tuple[tuple[int, str], ...]  # community staff (id, name), who take wishes and appointments


@dataclass
class _District:
    grids: list[_Grid] = field(default_factory=list)
    workers: int = 0  # grid workers so far, for their codes
    departments: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)  # (street or "", dept)
    units: int = 0
    staff: int = 0
    groups: int = 0


class _Names:
    """Deterministic person names and phone numbers."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.phones = 0

    def person(self) -> str:
        return self.rng.choice(_SURNAMES) + self.rng.choice(_GIVEN)

    def phone(self, prefix: str) -> str:
        self.phones += 1
        return f"{prefix}{self.phones:08d}"


async def generate_synthetic(
    session_factory: async_sessionmaker[AsyncSession], *, now: datetime, cases: int = 0, seed: int = 1,
) -> DistrictSummary:
    """Writes a Weibin-scale district and `cases` historical cases over the last 52 weeks; one transaction."""
    rng = random.Random(seed)
    now = now.astimezone(UTC).replace(tzinfo=None)  # rows carry naive UTC, as UTCDateTime stores it
    async with session_factory() as session, session.begin():
        if await session.scalar(select(func.count()).select_from(GridUnit)):
            raise ValueError("the synthetic district needs a database whose grid is empty")
        rows = _Rows(await _next_ids(session))
        names = _Names(rng)
        district = _district(rows, rng, names)
        pool = len(district.grids) * 2 + cases // 5
        residents = _residents(rows, rng, names, district, count=pool, now=now)
        for table in (GridUnit, Staff, ChatGroup, Resident, Identity):
            await _insert(session, table.__table__, rows.tables.pop(table.__tablename__, []))
        for case_rows, event_rows in _cases(rows, rng, district, residents, count=cases, now=now):
            await _insert(session, Case.__table__, case_rows)
            await _insert(session, CaseEvent.__table__, event_rows)
        if session.bind.dialect.name == "postgresql":
            await _move_sequences(session)
    return DistrictSummary(units=district.units, staff=district.staff, groups=district.groups,
                           residents=len(residents))


async def _next_ids(session: AsyncSession) -> dict[str, int]:
    tables = (GridUnit, Staff, ChatGroup, Resident, Identity, Case, CaseEvent)
    return {t.__tablename__: (await session.scalar(select(func.max(t.id))) or 0) + 1 for t in tables}


async def _insert(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Writes rows below the ORM (executemany on SQLite, COPY on PostgreSQL); datetimes are naive UTC."""
    if not rows:
        return
    dialect = session.bind.dialect.name
    columns = list(table.columns)
    encoders = [_encoder(c.type, dialect) for c in columns]
    defaults = {c.name: _default(c) for c in columns if c.name not in rows[0]}
    names = [c.name for c in columns]
    connection = await session.connection()
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start:start + CHUNK]
        values = []
        for column, encode in zip(columns, encoders, strict=True):
            if column.name in defaults:
                raw = [defaults[column.name]] * len(chunk)
            else:
                raw = [row[column.name] for row in chunk]
            values.append([None if v is None else encode(v) for v in raw] if encode else raw)
        records = list(zip(*values, strict=True))
        if dialect == "postgresql":
            driver = (await connection.get_raw_connection()).driver_connection
            await driver.copy_records_to_table(table.name, records=records, columns=names)
        else:
            quoted = ", ".join(f'"{n}"' for n in names)
            await connection.exec_driver_sql(
                f'INSERT INTO "{table.name}" ({quoted}) VALUES ({", ".join("?" * len(names))})', records)


def _default(column: Column[Any]) -> Any:
    """The model's Python-side default for a column the rows leave out (the ORM is bypassed here)."""
    default = column.default
    if default is not None and default.is_scalar:
        return default.arg  # type: ignore[attr-defined]
    if default is not None and default.is_callable:
        return default.arg(None)  # type: ignore[attr-defined]  # SQLAlchemy wraps zero-argument callables
    if column.nullable:
        return None
    raise ValueError(f"synthetic rows for {column.table.name} lack {column.name!r}, which has no default")


def _encoder(column_type: TypeEngine[Any], dialect: str) -> Callable[[Any], Any] | None:
    """What the column's SQLAlchemy type makes of a (non-null) value on each dialect we write to."""
    if isinstance(column_type, UTCDateTime):
        # SQLAlchemy's SQLite DATETIME text always carries microseconds, so strings compare in time order
        return None if dialect == "postgresql" else lambda v: v.isoformat(" ", "microseconds")
    if isinstance(column_type, JSON):
        return json.dumps
    if isinstance(column_type, Enum):
        return attrgetter("value")
    return None


async def _move_sequences(session: AsyncSession) -> None:
    """Moves PostgreSQL id sequences past the explicit ids written here."""
    for table in (GridUnit, Staff, ChatGroup, Resident, Identity, Case, CaseEvent):
        name = table.__tablename__
        await session.execute(text(
            f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), "
            f"(SELECT coalesce(max(id), 0) + 1 FROM \"{name}\"), false)"
        ))


# --- the district ----------------------------------------------------------------------------------------


def _unit(rows: _Rows, code: str, name: str, level: UnitLevel, parent: tuple[int, str] | None,
          aliases: Sequence[str] = ()) -> tuple[int, str]:
    """Adds a unit row; returns (id, path)."""
    unit_id = rows.next_id[GridUnit.__tablename__]
    path = (parent[1] if parent else "/") + f"{unit_id}/"
    rows.add(GridUnit.__table__, {
        "code": code, "name": name, "level": level, "parent_id": parent[0] if parent else None, "path": path,
        "aliases": list(aliases),
    })
    return unit_id, path


def _staff(rows: _Rows, names: _Names, code: str, role: StaffRole, unit_id: int, *,
           department: str | None = None, channel: str | None = None) -> tuple[int, str]:
    """Adds a staff member with a console identity (user id = code) and optionally one on a chat channel."""
    name = names.person()
    staff_id = rows.add(Staff.__table__, {
        "code": code, "name": name, "role": role, "unit_id": unit_id, "department": department,
        "phone": names.phone("139"), "on_duty": True,
    })
    _identity(rows, "console", code, name, f"private:{code}", staff_id=staff_id)
    if channel == "telegram":
        user_id = str(5_000_000_000 + staff_id)
        _identity(rows, channel, user_id, name, user_id, staff_id=staff_id)
    elif channel == "wecom":
        _identity(rows, channel, f"wg{code.lower()}", name, f"wg{code.lower()}", staff_id=staff_id)
    return staff_id, name


def _identity(rows: _Rows, channel: str, user_id: str, name: str, private_chat_id: str | None, *,
              staff_id: int | None = None, resident_id: int | None = None) -> None:
    rows.add(Identity.__table__, {"channel": channel, "user_id": user_id, "display_name": name,
                                  "private_chat_id": private_chat_id, "staff_id": staff_id,
                                  "resident_id": resident_id, "last_seen_at": None})


def _grid_names(rng: random.Random) -> Iterator[tuple[str, tuple[str, ...]]]:
    """Distinct compound names with the aliases residents use, in a seeded order."""
    combos = [(prefix, kind) for prefix in _PREFIXES for kind in _KINDS]
    rng.shuffle(combos)
    for prefix, kind in combos:
        name = prefix + kind
        yield name, ((name + "小区",) if kind in _ALIAS_KINDS else ())


def _grids_per_community() -> list[int]:
    communities = sum(len(street[3]) for street in STREETS)
    base, extra = divmod(GRIDS_TOTAL, communities)
    return [base + (1 if i < extra else 0) for i in range(communities)]


def _district(rows: _Rows, rng: random.Random, names: _Names) -> _District:
    district = _District()
    root = _unit(rows, DISTRICT_CODE, "渭滨区", UnitLevel.DISTRICT, None, ["渭滨"])
    grid_names = _grid_names(rng)
    grid_counts = iter(_grids_per_community())
    community_no = 0
    for d, department in enumerate(DISTRICT_DEPARTMENTS, start=1):
        for k in (1, 2):
            person = _staff(rows, names, f"D{d:02d}-{k}", StaffRole.DEPARTMENT, root[0],
                            department=department)
            district.departments.setdefault(("", department), person)
    for street_code, street_name, street_alias, cores in STREETS:
        street = _unit(rows, street_code, street_name, UnitLevel.STREET, root, [street_alias])
        _staff(rows, names, f"O-{street_code}", StaffRole.STREET_OFFICER, street[0])
        for d, department in enumerate(STREET_DEPARTMENTS, start=1):
            district.departments[(street_code, department)] = _staff(
                rows, names, f"D-{street_code}-{d}", StaffRole.DEPARTMENT, street[0], department=department)
        for c, core in enumerate(cores, start=1):
            community_no += 1
            code = f"{street_code}-{c:02d}"
            aliases = [f"{core[1:]}社区"] if core.startswith("市") else []  # 市铁塔厂社区 is 铁塔厂社区 to residents
            community = _unit(rows, code, f"{core}社区", UnitLevel.COMMUNITY, street, aliases)
            _staff(rows, names, f"S{community_no:03d}", StaffRole.COMMUNITY_SECRETARY, community[0])
            staff = tuple(
                _staff(rows, names, f"C{community_no:03d}-{k}", StaffRole.COMMUNITY_STAFF, community[0])
                for k in (1, 2)
            )
            _staff(rows, names, f"V{community_no:03d}", StaffRole.VOLUNTEER, community[0])
            home = _Community(community[0], community[1], street_code, staff)
            for g in range(1, next(grid_counts) + 1):
                _grid(rows, rng, names, district, home, f"{code}-{g:02d}", next(grid_names))
    district.units = len(rows.tables[GridUnit.__tablename__])
    district.staff = len(rows.tables[Staff.__tablename__])
    district.groups = len(rows.tables[ChatGroup.__tablename__])
    return district


def _grid(rows: _Rows, rng: random.Random, names: _Names, district: _District, community: _Community,
          code: str, naming: tuple[str, tuple[str, ...]]) -> None:
    """Adds one grid with its buildings, a household or none, its workers and its bound group."""
    name, aliases = naming
    grid = _unit(rows, code, name, UnitLevel.GRID, (community.id, community.path), aliases)
    buildings = []
    for number in range(1, rng.randint(6, 20) + 1):
        building = _unit(rows, f"{code}-B{number:02d}", f"{number}号楼", UnitLevel.BUILDING, grid)
        buildings.append((building[0], building[1], f"{name}{number}号楼"))
    channel = "wecom" if rng.random() < 0.55 else "telegram"
    group_no = len(district.grids) + 1
    chat_id = f"-100{1_700_000_000 + group_no}" if channel == "telegram" else f"wr{rng.getrandbits(64):016x}"
    rows.add(ChatGroup.__table__, {"channel": channel, "chat_id": chat_id, "title": f"{name}居民群",
                                   "unit_id": grid[0], "extras": {}})
    workers = []
    for _ in range(2 if len(buildings) >= 14 and rng.random() < 0.4 else 1):
        district.workers += 1
        workers.append(_staff(rows, names, f"W{district.workers:04d}", StaffRole.GRID_WORKER, grid[0],
                              channel=channel))
    if group_no % 3 == 0:
        lead = names.person()
        household = _unit(rows, f"{code}-B01-H1", f"{lead}党员中心户", UnitLevel.HOUSEHOLD,
                          (buildings[0][0], buildings[0][1]))
        _staff(rows, names, f"H{group_no:04d}", StaffRole.HOUSEHOLD_LEAD, household[0])
    district.grids.append(_Grid(grid[0], grid[1], name, community.street_code, tuple(buildings), channel,
                                chat_id, tuple(workers), community.staff))


# --- residents and cases ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Resident:
    id: int
    name: str
    grid: _Grid
    building: tuple[int, str, str]
    user_id: str


def _residents(rows: _Rows, rng: random.Random, names: _Names, district: _District, *, count: int,
               now: datetime) -> list[_Resident]:
    """Residents with a home building and an identity on their grid group's channel."""
    residents = []
    for n in range(count):
        # the first round gives every grid residents; the rest spread at random
        grid = district.grids[n] if n < len(district.grids) else rng.choice(district.grids)
        building = rng.choice(grid.buildings)
        name = names.person()
        resident_id = rows.add(Resident.__table__, {
            "display_name": name, "phone": names.phone("137") if rng.random() < 0.7 else None,
            "home_unit_id": building[0], "created_at": now - timedelta(days=rng.uniform(365, 900)),
        })
        user_id = str(6_000_000_000 + resident_id) if grid.channel == "telegram" else f"wm{resident_id:08d}"
        _identity(rows, grid.channel, user_id, name, user_id, resident_id=resident_id)
        residents.append(_Resident(resident_id, name, grid, building, user_id))
    return residents


def _cases(rows: _Rows, rng: random.Random, district: _District, residents: list[_Resident], *, count: int,
           now: datetime) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """Cases and their events, a chunk at a time, over the last 52 weeks with a realistic status mix."""
    cases: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for _ in range(count):
        _case(rows, rng, district, rng.choice(residents), now, cases, events)
        if len(cases) >= CHUNK:
            yield cases, events
            cases, events = [], []
    if cases:
        yield cases, events


_OPEN_MIX = ((CaseStatus.ASSIGNED, 0.3), (CaseStatus.ACCEPTED, 0.3), (CaseStatus.IN_PROGRESS, 0.3),
             (CaseStatus.NEW, 0.1))


def _status(rng: random.Random, age_days: float) -> CaseStatus:
    """Old cases are almost all finished; recent ones are often still open."""
    roll = rng.random()
    closed, resolved, dropped = (0.86, 0.975, 0.993) if age_days > 14 else (0.35, 0.60, 0.63)
    if roll < closed:
        return CaseStatus.CLOSED
    if roll < resolved:
        return CaseStatus.RESOLVED
    if roll < dropped:
        return CaseStatus.DUPLICATE if rng.random() < 0.6 else CaseStatus.REJECTED
    return rng.choices([s for s, _ in _OPEN_MIX], [w for _, w in _OPEN_MIX])[0]


def _case(rows: _Rows, rng: random.Random, district: _District, reporter: _Resident, now: datetime,
          cases: list[dict[str, Any]], events: list[dict[str, Any]]) -> None:
    grid = reporter.grid
    created = now - timedelta(seconds=rng.uniform(600, 364 * 86400))
    status = _status(rng, (now - created).total_seconds() / 86400)
    kind = rng.choices((CaseKind.REPORT, CaseKind.WISH, CaseKind.APPOINTMENT), (85, 10, 5))[0]
    on_building = rng.random() < 0.7
    unit_id, unit_path, place = reporter.building if on_building else (grid.id, grid.path, grid.name)
    matter = rng.choice(MATTERS_BY_KIND[kind])
    body = rng.choice(matter.texts)
    if kind is CaseKind.REPORT:
        body = place + body
    assignee = _assignee(district, grid, matter, rng)
    in_group = rng.random() < 0.7
    case_id = rows.new_id(Case.__table__)
    row = {
        "id": case_id,
        "kind": kind, "status": status, "text": body, "media": [], "category_code": matter.code,
        "category_name": matter.name, "confidence": round(rng.uniform(0.6, 0.98), 3) if matter.code else 0.0,
        "keywords": list(matter.keywords), "unit_id": unit_id, "unit_path": unit_path, "place": place,
        "reporter_id": reporter.id,
        "source_channel": grid.channel, "source_chat_id": grid.chat_id if in_group else reporter.user_id,
        "source_is_group": in_group, "assignee_id": None, "department": matter.department,
        "queue_unit_id": None,
        "duplicate_of_id": None, "priority": 0, "escalation_level": 0,
        "extras": {"service": matter.service} if matter.service else {}, "created_at": created,
        "updated_at": created, "assigned_at": None, "accept_due_at": None,
        "resolve_due_at": created + timedelta(hours=matter.resolve_hours), "accepted_at": None,
        "resolved_at": None,
        "closed_at": None, "rating": None, "rating_comment": None,
    }
    _event(rows, events, case_id, created, "resident", reporter.id, reporter.name, "filed", None,
           CaseStatus.NEW, f"经{grid.channel}提交")
    _progress(rows, rng, row, events, case_id, assignee, reporter, now)
    cases.append(row)


def _assignee(district: _District, grid: _Grid, matter: Matter, rng: random.Random) -> tuple[int, str]:
    """The department's street office, else its district office, else the matter's role in the grid."""
    if matter.department is not None:
        office = district.departments.get((grid.street_code, matter.department)) \
            or district.departments.get(("", matter.department))
        if office is not None:
            return office
    return rng.choice(grid.community_staff if matter.role is StaffRole.COMMUNITY_STAFF else grid.workers)


def _progress(rows: _Rows, rng: random.Random, row: dict[str, Any], events: list[dict[str, Any]],
              case_id: int, assignee: tuple[int, str], reporter: _Resident, now: datetime) -> None:
    """Fills the timestamps and events that bring a new case to its final status."""
    status: CaseStatus = row["status"]
    created: datetime = row["created_at"]
    if status in (CaseStatus.NEW, CaseStatus.DUPLICATE, CaseStatus.REJECTED):
        if status is CaseStatus.NEW:
            row["queue_unit_id"] = row["unit_id"]
            _event(rows, events, case_id, created, "system", None, "系统", "routed", CaseStatus.NEW,
                   CaseStatus.NEW, "类别未确定，转社区人工分拣")
        else:
            row["resolve_due_at"] = None
            action = "linked_duplicate" if status is CaseStatus.DUPLICATE else "reject"
            at = min(now, created + timedelta(minutes=rng.uniform(1, 600)))
            _event(rows, events, case_id, at, "system", None, "系统", action, CaseStatus.NEW, status,
                   "与此前工单重复，已并入" if status is CaseStatus.DUPLICATE else "不属于受理范围")
            row["updated_at"] = row["closed_at"] = at
        return
    steps = (CaseStatus.ASSIGNED, CaseStatus.ACCEPTED, CaseStatus.IN_PROGRESS, CaseStatus.RESOLVED,
             CaseStatus.CLOSED)
    reached = steps.index(status)
    staff_id, staff_name = assignee
    row["assignee_id"] = staff_id
    at = row["assigned_at"] = created + timedelta(seconds=rng.uniform(5, 900))
    row["accept_due_at"] = at + timedelta(hours=24)
    _event(rows, events, case_id, at, "system", None, "系统", "routed", CaseStatus.NEW, CaseStatus.ASSIGNED,
           f"派给{staff_name}")
    if reached >= 1:
        at = row["accepted_at"] = min(now, at + timedelta(minutes=rng.uniform(5, 360)))
        _event(rows, events, case_id, at, "staff", staff_id, staff_name, "accept", CaseStatus.ASSIGNED,
               CaseStatus.ACCEPTED, "")
    if reached == 2:
        at = min(now, at + timedelta(minutes=rng.uniform(10, 600)))
        _event(rows, events, case_id, at, "staff", staff_id, staff_name, "progress", CaseStatus.ACCEPTED,
               CaseStatus.IN_PROGRESS, "已联系相关人员，正在处理")
    if reached >= 3:
        window = (row["resolve_due_at"] - created).total_seconds()
        at = row["resolved_at"] = min(now, at + timedelta(seconds=window * rng.uniform(0.05, 1.15)))
        _event(rows, events, case_id, at, "staff", staff_id, staff_name, "resolve", CaseStatus.ACCEPTED,
               CaseStatus.RESOLVED, "已现场处理完毕")
    if reached >= 4:
        at = row["closed_at"] = min(now, at + timedelta(hours=rng.uniform(1, 72)))
        rating = Rating.SATISFIED if rng.random() < 0.88 else Rating.BASICALLY_SATISFIED
        row["rating"] = rating
        _event(rows, events, case_id, at, "resident", reporter.id, reporter.name, "rated",
               CaseStatus.RESOLVED, CaseStatus.CLOSED, rating.label)
    elif reached < 3 and row["resolve_due_at"] < now:
        overdue_hours = (now - row["resolve_due_at"]).total_seconds() / 3600
        row["escalation_level"] = 1 if overdue_hours < 48 else 2
    row["updated_at"] = at


def _event(rows: _Rows, events: list[dict[str, Any]], case_id: int, at: datetime, actor_kind: str,
           actor_id: int | None, actor_name: str, action: str, before: CaseStatus | None, after: CaseStatus,
           note: str) -> None:
    events.append({
        "id": rows.new_id(CaseEvent.__table__), "case_id": case_id, "at": at, "actor_kind": actor_kind,
        "actor_id": actor_id, "actor_name": actor_name, "action": action,
        "from_status": before.value if before else None, "to_status": after.value, "note": note,
    })
