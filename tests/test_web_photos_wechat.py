"""Photos sent through the WeChat Official Account and the WeCom app: fetched once by media/get from the fake
platform, checked, stripped of EXIF, stored, and served only in scope."""

from __future__ import annotations

import io

from PIL import Image
from sqlalchemy import select

from fakes.wechat_api import CORP_ID
from models import CasePhoto
from tests.web_rig import WebRig
from tests.wechat_rig import Rig

OPENID = "oGridResident000000000000001"


def _jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = image.getexif()
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (34.0, 21.0, 0.0), "E", (107.0, 8.0, 0.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


async def _photos(rig: Rig, case_id: int) -> list[CasePhoto]:
    async with rig.harness.services.sessions() as session:
        return list((await session.scalars(select(CasePhoto).where(CasePhoto.case_id == case_id)
                                           .order_by(CasePhoto.id))).all())


async def test_official_account_photos_are_fetched_once_checked_and_scoped(database_url: str, tmp_path) -> None:
    rig = await Rig.start(database_url, web_cookie_secure=False, photo_dir=tmp_path)
    try:
        rig.fake.media |= {"OA-GOOD": _jpeg_with_gps(), "OA-HTML": b"<html>not an image</html>"}
        assert "确认" in await rig.oa_text(OPENID, "#随手拍 铁塔厂家属院3号楼门口路灯坏了")
        for media_id in ("OA-GOOD", "OA-HTML", "OA-GONE"):
            sent = await rig.oa_post({"ToUserName": "gh_gridbot", "FromUserName": OPENID, "CreateTime": rig.next_time(),
                                      "MsgType": "image", "PicUrl": "http://mmbiz.example/p.jpg", "MediaId": media_id,
                                      "MsgId": rig.next_id()})
            assert sent.status == 200
        await rig.oa_text(OPENID, "确认")
        case = await rig.harness.latest_case()
        web = WebRig(rig.harness, rig.client)
        await web.login(case.assignee.code)
        page = await (await rig.client.get(f"/staff/cases/{case.id}")).text()
        assert page.count("未能取得") == 2
        await rig.client.get(f"/staff/cases/{case.id}")  # a second view asks the platform for nothing
        asked = rig.fake.to("/cgi-bin/media/get")
        assert sorted(call.query["media_id"] for call in asked) == ["OA-GONE", "OA-GOOD", "OA-HTML"]
        photos = {p.ref: p for p in await _photos(rig, case.id)}
        assert "无法识别" in photos["OA-HTML"].error and "40007" in photos["OA-GONE"].error
        served = await rig.client.get(f"/staff/photos/{photos['OA-GOOD'].id}")
        assert served.status == 200 and served.headers["Content-Type"] == "image/jpeg"
        stored = Image.open(io.BytesIO(await served.read()))
        assert stored.size == (64, 48) and not stored.getexif().get_ifd(0x8825)
        await web.login("W013")  # another street's grid worker
        assert (await rig.client.get(f"/staff/photos/{photos['OA-GOOD'].id}")).status == 404
    finally:
        await rig.close()


async def test_wecom_app_photos_survive_an_outage_an_expired_token_and_refuse_oversize(database_url: str,
                                                                                       tmp_path) -> None:
    rig = await Rig.start(database_url, web_cookie_secure=False, photo_dir=tmp_path, photo_max_bytes=200_000)
    try:
        rig.fake.media |= {"APP-GOOD": _jpeg_with_gps(), "APP-HUGE": b"\xff\xd8" + b"0" * 300_000}
        user = "zhangsan"

        async def app_message(fields: dict) -> None:
            response = await rig.app_post({"ToUserName": CORP_ID, "FromUserName": user, "CreateTime": rig.next_time(),
                                           "MsgId": rig.next_id(), "AgentID": 1000002, **fields})
            assert response.status == 200

        assert "确认" in await rig.app_text(user, "#随手拍 铁塔厂家属院3号楼门口路灯坏了")
        for media_id in ("APP-GOOD", "APP-HUGE"):
            await app_message({"MsgType": "image", "PicUrl": "http://wework.example/p.jpg", "MediaId": media_id})
        await rig.app_text(user, "确认")
        case = await rig.harness.latest_case()
        assert case.source_channel == "wecom" and len(case.media) == 2
        web = WebRig(rig.harness, rig.client)
        await web.login(case.assignee.code)
        rig.fake.inject("/cgi-bin/media/get", "5xx", "5xx")
        page = await (await rig.client.get(f"/staff/cases/{case.id}")).text()
        assert "另有 2 张照片尚未从平台取得" in page and await _photos(rig, case.id) == []
        rig.fake.expire_tokens()
        await rig.client.get(f"/staff/cases/{case.id}")
        photos = {p.ref: p for p in await _photos(rig, case.id)}
        assert photos["APP-GOOD"].file_name and (tmp_path / photos["APP-GOOD"].file_name).is_file()
        assert not photos["APP-HUGE"].file_name and "照片超过" in photos["APP-HUGE"].error
        assert len(rig.fake.to("/cgi-bin/gettoken")) >= 2  # the expired token was replaced, not given up on
    finally:
        await rig.close()
