"""双报到 registration: party members, units and volunteers report to a community; its staff approve them."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.community.common import (
    Refused,
    Who,
    find_claimer,
    may_manage,
    notify_claimer,
    notify_managers,
    record,
)
from bot.grid.directory import GridDirectory, UnitRef
from bot.grid.district import DistrictError
from bot.pipeline.identities import Actor
from config import yamlfile
from models import Claimer, ClaimerKind, ClaimerStatus, GridUnit, Identity, Resident, Staff, UnitLevel

KIND_WORDS = {**{k.value: k for k in ClaimerKind}, "党员": ClaimerKind.PARTY_MEMBER, "在职党员": ClaimerKind.PARTY_MEMBER,
              "单位": ClaimerKind.UNIT, "驻区单位": ClaimerKind.UNIT, "包抓单位": ClaimerKind.UNIT,
              "志愿者": ClaimerKind.VOLUNTEER}
CLAIMER_FIELDS = ("code", "name", "kind", "organisation", "party_member", "community", "phone", "staff", "identities")
_TRUE = {"true", "yes", "1", "是", "y", "党员"}


@dataclass(frozen=True)
class Registration:
    """What a person tells us when they register."""

    name: str
    kind: ClaimerKind
    organisation: str
    party_member: bool
    community: UnitRef
    phone: str | None = None


def parse_registration(words: str) -> tuple[str, ClaimerKind, str, bool] | None:
    """`张明 市供电公司 党员`, `单位 市供电公司`, `李红 志愿者`: name, kind, organisation, party membership."""
    parts = words.replace("，", " ").replace(",", " ").split()
    if not parts:
        return None
    if parts[0] in ("单位", "驻区单位", "包抓单位"):
        return (parts[1], ClaimerKind.UNIT, parts[1], False) if len(parts) > 1 else None
    name, rest = parts[0], parts[1:]
    party = any(p in ("党员", "中共党员", "预备党员", "在职党员") for p in rest)
    others = [p for p in rest if p not in ("党员", "中共党员", "预备党员", "在职党员", "群众", "志愿者")]
    if not 2 <= len(name) <= 32:
        return None
    return name, ClaimerKind.PARTY_MEMBER if party else ClaimerKind.VOLUNTEER, " ".join(others)[:128], party


async def register(session: AsyncSession, actor: Actor, reg: Registration, now: datetime) -> Claimer:
    """Records a registration waiting for the community's approval; staff of the community are told."""
    existing = await find_claimer(session, actor)
    if existing is not None:
        raise Refused(f"您已登记双报到（{existing.community.name}，{existing.status.label}）。")
    claimer = Claimer(name=reg.name, kind=reg.kind, organisation=reg.organisation, party_member=reg.party_member,
                      community_id=reg.community.id, phone=reg.phone or actor.phone,
                      staff_id=actor.id if actor.is_staff else None,
                      resident_id=None if actor.is_staff else actor.id, status=ClaimerStatus.PENDING,
                      registered_at=now)
    session.add(claimer)
    await session.flush()
    record(session, Who.of(actor), "register", now, claimer_id=claimer.id, after=ClaimerStatus.PENDING)
    await notify_managers(session, reg.community.id, f"双报到登记待审核 {claimer.number}：{describe(claimer)}\n"
                          f"回复「通过 {claimer.number}」或「不通过 {claimer.number} 原因」。",
                          key=f"claimer:{claimer.id}:registered", now=now,
                          buttons=[["通过", f"通过 {claimer.number}"], ["不通过", f"不通过 {claimer.number}"]])
    return claimer


def describe(claimer: Claimer) -> str:
    party = "，党员" if claimer.party_member else ""
    org = f"，{claimer.organisation}" if claimer.organisation and claimer.organisation != claimer.name else ""
    return f"{claimer.name}（{claimer.kind.label}{org}{party}）"


WELCOME = ("您的双报到登记已通过，欢迎加入{community}的志愿服务！发送「心愿墙」查看居民的微心愿并认领，"
           "「实事」查看社区为民办实事项目；新心愿发布时我们会第一时间告诉您。")


async def decide(session: AsyncSession, directory: GridDirectory, actor: Actor, claimer_id: int, approve: bool,
                 reason: str, now: datetime) -> Claimer:
    """Community staff approve or turn down a registration."""
    claimer = await session.get(Claimer, claimer_id)
    if claimer is None or not may_manage(directory, actor, claimer.community_id):
        raise Refused(f"未找到您可审核的双报到登记 D{claimer_id}。")
    if claimer.status is not ClaimerStatus.PENDING:
        raise Refused(f"{claimer.number} {claimer.status.label}。")
    claimer.status = ClaimerStatus.APPROVED if approve else ClaimerStatus.REJECTED
    claimer.decided_at, claimer.decided_by_id = now, actor.id
    record(session, Who.of(actor), "approve" if approve else "reject", now, claimer_id=claimer.id,
           before=ClaimerStatus.PENDING, after=claimer.status, note=reason)
    text = WELCOME.format(community=claimer.community.name) if approve else \
        f"您的双报到登记未通过：{reason or '请与社区联系'}。"
    await notify_claimer(session, claimer, text, key=f"claimer:{claimer.id}:{claimer.status}", now=now,
                         buttons=[["心愿墙", "心愿墙"]] if approve else None)
    return claimer


async def pending_registrations(session: AsyncSession, unit: UnitRef) -> list[Claimer]:
    """Registrations waiting for a decision in a staff member's unit."""
    return list((await session.scalars(select(Claimer).join(GridUnit, GridUnit.id == Claimer.community_id).where(
        Claimer.status == ClaimerStatus.PENDING, GridUnit.path.like(f"{unit.path}%"))
        .order_by(Claimer.id))).unique().all())


# loading from the district file or a CSV ------------------------------------------------------------------


class ClaimerFileError(DistrictError):
    """A claimer record is wrong; the message names the file and the record."""

    def __init__(self, problem: str) -> None:
        super().__init__([problem])


def read_claimer_file(path: Path) -> list[dict[str, Any]]:
    """The `claimers:` records of a district YAML file, or the rows of a CSV with CLAIMER_FIELDS columns."""
    if path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return [dict(row) for row in csv.DictReader(handle)]
    data = yamlfile.safe_load(path.read_text(encoding="utf-8")) or {}
    records = list(data.get("claimers") or [])
    if data.get("claimers_csv"):
        records += read_claimer_file(path.parent / str(data["claimers_csv"]))
    return records


def _identities(raw: Any) -> list[tuple[str, str]]:
    if isinstance(raw, dict):
        return [(str(k), str(v)) for k, v in raw.items()]
    return [tuple(p.split(":", 1)) for p in str(raw or "").split(";") if ":" in p]  # type: ignore[misc]


async def load_claimers(session: AsyncSession, directory: GridDirectory, records: list[dict[str, Any]], *,
                        source: str, now: datetime) -> int:
    """Upserts claimers by code as approved registrations, linking staff by code or chat identities to a person."""
    loaded = 0
    for number, raw in enumerate(records, 1):
        where = f"{source}: claimer {raw.get('code') or number}"
        unknown = set(raw) - set(CLAIMER_FIELDS)
        if unknown:
            raise ClaimerFileError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        code, name = str(raw.get("code") or "").strip(), str(raw.get("name") or "").strip()
        kind = KIND_WORDS.get(str(raw.get("kind") or "volunteer").strip())
        community = directory.resolve(str(raw.get("community") or "").strip())
        if not code or not name or kind is None:
            raise ClaimerFileError(f"{where}: needs code, name and kind (party_member, unit or volunteer)")
        if community is None or community.level is not UnitLevel.COMMUNITY:
            raise ClaimerFileError(f"{where}: community {raw.get('community')!r} is not a community code")
        claimer = await session.scalar(select(Claimer).where(Claimer.code == code))
        if claimer is None:
            claimer = Claimer(code=code, registered_at=now, status=ClaimerStatus.APPROVED, decided_at=now)
            session.add(claimer)
        claimer.name, claimer.kind, claimer.community_id = name, kind, community.id
        claimer.organisation = str(raw.get("organisation") or (name if kind is ClaimerKind.UNIT else ""))
        claimer.party_member = str(raw.get("party_member") or "").strip().lower() in _TRUE
        claimer.phone = str(raw.get("phone") or "") or None
        if raw.get("staff"):
            staff = await session.scalar(select(Staff).where(Staff.code == str(raw["staff"])))
            if staff is None:
                raise ClaimerFileError(f"{where}: unknown staff code {raw['staff']!r}")
            claimer.staff_id = staff.id
        else:
            claimer.resident_id = await _person(session, claimer, _identities(raw.get("identities")) or
                                                [("console", code)], now)
        await session.flush()
        loaded += 1
    return loaded


async def _person(session: AsyncSession, claimer: Claimer, identities: list[tuple[str, str]], now: datetime) -> int:
    """The resident behind a claimer's chat identities, created (with the identities) when new."""
    resident_id = claimer.resident_id
    for channel, user_id in identities:
        identity = await session.scalar(select(Identity).where(Identity.channel == channel,
                                                               Identity.user_id == user_id))
        if identity is not None and identity.resident_id is not None:
            resident_id = resident_id or identity.resident_id
    if resident_id is None:
        resident = Resident(display_name=claimer.name, phone=claimer.phone, created_at=now)
        session.add(resident)
        await session.flush()
        resident_id = resident.id
    for channel, user_id in identities:
        identity = await session.scalar(select(Identity).where(Identity.channel == channel,
                                                               Identity.user_id == user_id))
        if identity is None:
            session.add(Identity(channel=channel, user_id=user_id, display_name=claimer.name,
                                 resident_id=resident_id))
    return resident_id


async def load_district_claimers(session: AsyncSession, path: Path, *, now: datetime) -> int:
    """Loads the `claimers:` (and `claimers_csv:`) of a district file after its units and staff."""
    records = read_claimer_file(path)
    if not records:
        return 0
    directory = await GridDirectory.load(session)
    return await load_claimers(session, directory, records, source=path.name, now=now)
