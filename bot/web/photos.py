"""Case photos: downloaded once from the platform, checked with Pillow, EXIF dropped, kept on disk, served by scope.

A photo is re-encoded from its decoded pixels (turned upright first), so no EXIF block, GPS position included,
survives; anything that is not a JPEG, PNG, WebP or GIF within the size limits is refused and noted.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

import aiohttp
from aiohttp import web
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.wechat_api import (
    ApiAnswer,
    ApiUnavailable,
    FileTooLarge,
    PlatformApi,
    oa_tokens,
    wecom_tokens,
)
from bot.services import Services
from config.settings import Settings
from models import Case, CasePhoto

FORMATS = {"JPEG": ("image/jpeg", ".jpg"), "PNG": ("image/png", ".png"), "WEBP": ("image/webp", ".webp"),
           "GIF": ("image/png", ".png")}
MAX_PIXELS = 40_000_000


class PhotoRefused(Exception):
    """The bytes are not a photo we keep; the message says why (in Chinese, for staff)."""


class PhotoUnavailable(Exception):
    """The platform could not be reached this time; the photo is tried again on the next view."""


@dataclass(frozen=True)
class CleanPhoto:
    data: bytes
    content_type: str
    suffix: str
    width: int
    height: int


def clean_photo(data: bytes, *, max_bytes: int) -> CleanPhoto:
    """Verifies the bytes decode as an allowed image and re-encodes them without any metadata."""
    if len(data) > max_bytes:
        raise PhotoRefused(f"照片超过 {max_bytes // (1024 * 1024)} MB")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind = probe.format or ""
            if kind not in FORMATS:
                raise PhotoRefused(f"不支持的图片格式 {kind or '未知'}")
            if probe.width * probe.height > MAX_PIXELS:
                raise PhotoRefused("照片像素过大")
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            upright = ImageOps.exif_transpose(image)
            content_type, suffix = FORMATS[kind]
            out = io.BytesIO()
            if kind == "JPEG":
                upright.convert("RGB").save(out, "JPEG", quality=88)
            elif kind == "WEBP":
                upright.save(out, "WEBP", quality=88)
            else:
                upright.save(out, "PNG")
            return CleanPhoto(out.getvalue(), content_type, suffix, upright.width, upright.height)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise PhotoRefused("文件无法识别为图片") from exc


class PhotoSource(Protocol):
    """Downloads a platform's media by its reference; None when this source does not serve that channel."""

    async def download(self, media: dict) -> bytes | None: ...


class TelegramPhotos:
    """Telegram's getFile, then the file URL (the Bot API's base, or the fake's in tests)."""

    def __init__(self, api_base: str, token: str, *, timeout: float = 15.0) -> None:
        self.api = f"{api_base}{token}"
        self.files = f"{api_base.removesuffix('/bot').rstrip('/')}/file/bot{token}"
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    async def download(self, media: dict) -> bytes | None:
        if media.get("channel") != "telegram" or not media.get("ref"):
            return None
        async with aiohttp.ClientSession(timeout=self.timeout) as http:
            async with http.get(f"{self.api}/getFile", params={"file_id": media["ref"]}) as answer:
                body = await answer.json(content_type=None)
            if not body.get("ok"):
                raise PhotoRefused(f"Telegram 未提供该文件：{body.get('description', '')[:80]}")
            async with http.get(f"{self.files}/{body['result']['file_path']}") as answer:
                answer.raise_for_status()
                return await answer.read()


class PlatformPhotos:
    """WeChat Official Account or WeCom app temporary media: media/get with the channel's shared access token."""

    def __init__(self, channel: str, api: PlatformApi, *, max_bytes: int) -> None:
        self.channel = channel
        self.api = api
        self.max_bytes = max_bytes

    async def download(self, media: dict) -> bytes | None:
        if media.get("channel") != self.channel or not media.get("ref"):
            return None
        try:
            got = await self.api.get_file("/cgi-bin/media/get", {"media_id": str(media["ref"])},
                                          max_bytes=self.max_bytes)
        except FileTooLarge as exc:
            raise PhotoRefused(f"照片超过 {self.max_bytes // (1024 * 1024)} MB") from exc
        except ApiUnavailable as exc:
            raise PhotoUnavailable(str(exc)) from exc
        if isinstance(got, ApiAnswer):
            raise PhotoRefused(f"平台未提供该图片：{got.errcode} {got.errmsg[:80]}")
        return got

    async def close(self) -> None:
        await self.api.close()


PHOTO_SOURCES = web.AppKey("photo_sources", list)  # the PhotoSource list, built once


def photo_sources(services: Services) -> list[PhotoSource]:
    """The platforms whose media this service can fetch with its settings."""
    settings = services.settings
    sources: list[PhotoSource] = []
    if settings.telegram_token:
        sources.append(TelegramPhotos(settings.telegram_api_base, settings.telegram_token))
    timeout = settings.wechat_api_timeout_seconds * 3  # a photo is bigger than an API answer
    if settings.wechat_appid and settings.wechat_secret:
        sources.append(PlatformPhotos("wechat", PlatformApi(settings.wechat_api_base, oa_tokens(services),
                                                            timeout=timeout), max_bytes=settings.photo_max_bytes))
    if settings.wecom_corp_id and settings.wecom_secret:
        sources.append(PlatformPhotos("wecom", PlatformApi(settings.wecom_api_base, wecom_tokens(services),
                                                           timeout=timeout), max_bytes=settings.photo_max_bytes))
    return sources


async def close_photo_sources(app: web.Application) -> None:
    """Closes the sources' HTTP sessions when the app stops."""
    for source in app[PHOTO_SOURCES]:
        if isinstance(source, PlatformPhotos):
            await source.close()


async def fetch_case_photos(sessions: async_sessionmaker[AsyncSession], settings: Settings,
                            sources: list[PhotoSource], case: Case, *, now: datetime) -> list[CasePhoto]:
    """Downloads the case's photos not fetched yet (each once, failures noted) and returns all its photo rows.

    Downloads happen outside any transaction: a slow platform never holds the database."""
    async with sessions() as session:
        known = set((await session.scalars(select(CasePhoto.ref).where(CasePhoto.case_id == case.id))).all())
    for media in case.media or []:
        media = {"channel": case.source_channel, **media}  # only Telegram's refs name their channel
        ref = str(media.get("ref", ""))[:256]
        if not ref or ref in known or media.get("kind", "photo") != "photo":
            continue
        row: dict = {"case_id": case.id, "ref": ref, "fetched_at": now}
        try:
            data = None
            for source in sources:
                data = await source.download(media)
                if data is not None:
                    break
            if data is None:
                continue  # no source for this channel: tried again once one is configured
            clean = await asyncio.to_thread(clean_photo, data, max_bytes=settings.photo_max_bytes)
            name = f"{case.id}-{hashlib.sha256(ref.encode()).hexdigest()[:16]}{clean.suffix}"
            await asyncio.to_thread(_write, Path(settings.photo_dir), name, clean.data)
            row.update(file_name=name, content_type=clean.content_type, width=clean.width, height=clean.height,
                       size=len(clean.data))
        except PhotoUnavailable:
            continue
        except (PhotoRefused, aiohttp.ClientError, TimeoutError) as exc:
            row["error"] = str(exc)[:300] or type(exc).__name__
        async with sessions.begin() as session:
            if not await session.scalar(select(CasePhoto.id).where(CasePhoto.case_id == case.id,
                                                                   CasePhoto.ref == ref)):
                await session.execute(insert(CasePhoto).values(**row))
        known.add(ref)
    async with sessions() as session:
        return list((await session.scalars(select(CasePhoto).where(CasePhoto.case_id == case.id)
                                           .order_by(CasePhoto.id))).all())


def _write(folder: Path, name: str, data: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{name}.part"
    partial.write_bytes(data)
    partial.replace(folder / name)
