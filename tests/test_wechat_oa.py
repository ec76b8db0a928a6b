"""/wechat/callback: verification, plaintext and safe mode, message kinds, events, and the 5-second window."""

import pytest
from sqlalchemy import select

from bot.channels.wecom import safe_text
from fakes.wechat_api import OA_TOKEN, signature, xml_message
from models import Identity
from tests.conftest import table_counts
from tests.wechat_rig import Rig

OPENID = "oGridResident000000000000001"


@pytest.fixture
async def rig(database_url):
    rig = await Rig.start(database_url)
    yield rig
    await rig.close()


async def counts(rig):
    return await table_counts(rig.harness.runtime.engine)


def message(kind: str, rig: Rig, **fields):
    return {"ToUserName": "gh_gridbot", "FromUserName": OPENID, "CreateTime": rig.next_time(), "MsgType": kind,
            **fields}


async def test_url_verification_echoes_only_a_signed_request(rig):
    params = {"signature": signature(OA_TOKEN, "1764460800", "n1"), "timestamp": "1764460800", "nonce": "n1",
              "echostr": "echo-123"}
    response = await rig.client.get("/wechat/callback", params=params)
    assert response.status == 200 and await response.text() == "echo-123"
    forged = await rig.client.get("/wechat/callback", params=params | {"signature": "f" * 40})
    assert forged.status == 403


@pytest.fixture
async def plain_rig(database_url):
    # the account runs in plaintext mode, which must be allowed explicitly
    rig = await Rig.start(database_url, wechat_aes_key=None, wechat_allow_plaintext=True)
    yield rig
    await rig.close()


@pytest.mark.parametrize("safe", [False, True], ids=["plaintext", "aes"])
async def test_a_text_report_is_answered_passively_in_both_modes(database_url, safe):
    rig = await Rig.start(database_url, **({} if safe else {"wechat_aes_key": None, "wechat_allow_plaintext": True}))
    try:
        await report_and_confirm(rig, safe)
    finally:
        await rig.close()


async def test_with_a_key_configured_plaintext_bodies_are_refused(rig):
    before = await counts(rig)
    response = await rig.oa_post(message("text", rig, Content="#随手拍 路灯坏了", MsgId=3), safe=False)
    assert response.status == 403
    assert await counts(rig) == before


async def report_and_confirm(rig, safe):
    answer = await rig.oa_text(OPENID, "#随手拍 铁塔厂家属院3号楼门口路灯坏了", safe=safe)
    assert "确认" in answer
    assert "编号 #" in await rig.oa_text(OPENID, "确认", safe=safe)
    async with rig.harness.services.sessions() as session:
        identity = await session.scalar(select(Identity).where(Identity.channel == "wechat"))
    assert identity.user_id == OPENID and identity.private_chat_id == OPENID and identity.resident_id


async def test_a_forged_safe_mode_message_is_refused_before_any_write(rig):
    before = await counts(rig)
    response = await rig.oa_post(message("text", rig, Content="#随手拍 路灯坏了", MsgId=1), query={"msg_signature": "0" * 40})
    assert response.status == 403
    assert await counts(rig) == before


async def test_a_forged_plaintext_message_is_refused(plain_rig):
    before = await counts(plain_rig)
    plain = await plain_rig.oa_post(message("text", plain_rig, Content="hi", MsgId=2), safe=False,
                                    query={"signature": "0" * 40})
    assert plain.status == 403
    assert await counts(plain_rig) == before


async def test_a_photo_keeps_its_media_id_and_url_with_the_case(rig):
    assert "确认" in await rig.oa_text(OPENID, "#随手拍 铁塔厂家属院3号楼门口路灯坏了")
    photo = await rig.oa_post(message("image", rig, PicUrl="http://mmbiz.example/p1.jpg", MediaId="MEDIA-1",
                                      MsgId=rig.next_id()))
    assert photo.status == 200
    await rig.oa_text(OPENID, "确认")
    case = await rig.harness.latest_case()
    assert {"kind": "photo", "ref": "MEDIA-1", "url": "http://mmbiz.example/p1.jpg"} in case.media


async def test_location_and_recognised_voice_are_understood(rig):
    voice = await rig.oa_post(message("voice", rig, MediaId="V1", Format="amr",
                                      Recognition="铁塔厂家属院3号楼门口路灯坏了", MsgId=rig.next_id()))
    assert "确认" in rig.oa_reply(await voice.text())
    location = await rig.oa_post(message("location", rig, Location_X="34.35", Location_Y="107.14", Scale="15",
                                         Label="宝鸡市渭滨区铁塔厂家属院", MsgId=rig.next_id()))
    assert location.status == 200
    rows = await rig.harness.inbound_rows()
    assert len(rows) == 2 and rows[0].text == "铁塔厂家属院3号楼门口路灯坏了"


async def test_voice_without_recognition_asks_for_text_and_files_nothing(rig):
    before = await counts(rig)
    response = await rig.oa_post(message("voice", rig, MediaId="V2", Format="amr", MsgId=rig.next_id()))
    assert "文字" in rig.oa_reply(await response.text())
    assert await counts(rig) == before


async def test_subscribe_gets_the_welcome_and_menu_clicks_act(rig):
    before = await counts(rig)
    welcome = await rig.oa_post(message("event", rig, Event="subscribe", EventKey=""))
    assert "欢迎关注" in rig.oa_reply(await welcome.text())
    assert await counts(rig) == before
    mine = await rig.oa_post(message("event", rig, Event="CLICK", EventKey="MY_CASES"))
    assert "诉求" in rig.oa_reply(await mine.text()) or "没有" in rig.oa_reply(await mine.text())
    snap = await rig.oa_post(message("event", rig, Event="CLICK", EventKey="SNAPSHOT"))
    assert rig.oa_reply(await snap.text())


@pytest.mark.parametrize("fields", [
    {"MsgType": "event", "Event": "VIEW", "EventKey": "https://example.cn"},
    {"MsgType": "event", "Event": "CLICK", "EventKey": "NOT_A_MENU_KEY"},
    {"MsgType": "link", "Title": "t", "Description": "d", "Url": "https://example.cn", "MsgId": 31},
    {"MsgType": "event", "Event": "unsubscribe"},
])
async def test_unknown_messages_and_events_are_answered_success(rig, fields):
    before = await counts(rig)
    response = await rig.oa_post({"ToUserName": "gh_gridbot", "FromUserName": OPENID, "CreateTime": 1764460800,
                                  **fields})
    assert response.status == 200 and await response.text() == "success"
    assert await counts(rig) == before


async def test_malformed_and_entity_xml_are_refused(plain_rig):
    rig = plain_rig
    before = await counts(rig)
    assert (await rig.oa_post({}, safe=False, body=b"<xml><MsgType>text")).status == 400
    bomb = b'<!DOCTYPE xml [<!ENTITY a "aaaa">]><xml><MsgType>text</MsgType><Content>&a;</Content></xml>'
    assert (await rig.oa_post({}, safe=False, body=bomb)).status == 400
    assert (await rig.oa_post({}, safe=False, body=b"<xml>" + b"x" * (1024 * 1024) + b"</xml>")).status == 413
    assert await counts(rig) == before


async def test_safe_mode_envelopes_with_entities_or_garbage_are_refused(rig):
    before = await counts(rig)
    bomb = b'<!DOCTYPE xml [<!ENTITY a "aaaa">]><xml><Encrypt>&a;</Encrypt></xml>'
    assert (await rig.oa_post({"FromUserName": OPENID}, body=bomb)).status == 400
    assert (await rig.oa_post({"FromUserName": OPENID}, body=b"<xml><Encrypt>")).status == 400
    assert await counts(rig) == before


async def test_a_redelivered_msgid_counts_once(rig):
    await rig.oa_text(OPENID, "#随手拍 铁塔厂家属院3号楼门口路灯坏了", msg_id=5001)
    await rig.oa_text(OPENID, "确认", msg_id=5002)
    assert await rig.oa_text(OPENID, "确认", msg_id=5002) == ""
    assert len(await rig.harness.cases()) == 1 and len(await rig.harness.inbound_rows()) == 2


async def test_work_past_the_window_answers_success_and_follows_up(database_url):
    rig = await Rig.start(database_url, wechat_reply_window_seconds=0.000001)
    try:
        response = await rig.oa_post(message("text", rig, Content="#随手拍 铁塔厂家属院3号楼门口路灯坏了",
                                             MsgId=rig.next_id()))
        assert response.status == 200 and await response.text() == "success"
        sent = await rig.fake.wait_for("/cgi-bin/message/custom/send")
        assert sent[0].body["touser"] == OPENID and "确认" in str(sent[0].body)
        assert [row.recipient for row in await rig.harness.outbox()] == [f"wechat:{OPENID}"]
    finally:
        await rig.close()


async def test_wechat_retries_during_slow_work_count_once_and_follow_up_once(database_url):
    rig = await Rig.start(database_url, wechat_reply_window_seconds=0.000001)
    try:
        fields = message("text", rig, Content="#随手拍 铁塔厂家属院3号楼门口路灯坏了", MsgId=777001)
        answers = [await rig.oa_post(fields) for _ in range(3)]  # the first try and WeChat's retries
        assert [await a.text() for a in answers] == ["success"] * 3
        await rig.fake.wait_for("/cgi-bin/message/custom/send")
        await rig.wechat.window.settle()
        assert len(await rig.harness.inbound_rows()) == 1
        assert len(await rig.harness.outbox()) == 1
    finally:
        await rig.close()


def test_a_long_reply_is_cut_to_the_platform_limit_with_a_note():
    cut = safe_text("路灯" * 2000)
    assert len(cut.encode()) <= 2048 and cut.endswith("（内容较长，已截断）")
    assert safe_text("a]]>b") == "a]] >b"


async def test_plaintext_mode_is_refused_unless_allowed(database_url):
    rig = await Rig.start(database_url, wechat_aes_key=None)
    try:
        before = await counts(rig)
        response = await rig.oa_post({"ToUserName": "gh_gridbot", "FromUserName": OPENID, "CreateTime": rig.next_time(),
                                      "MsgType": "text", "Content": "路灯坏了", "MsgId": rig.next_id()}, safe=False)
        assert response.status == 403 and "GRIDBOT_WECHAT_ALLOW_PLAINTEXT" in await response.text()
        assert await counts(rig) == before
    finally:
        await rig.close()


async def test_stale_timestamps_and_reused_nonces_are_refused_before_any_write(plain_rig):
    rig = plain_rig
    before = await counts(rig)
    fields = {"ToUserName": "gh_gridbot", "FromUserName": OPENID, "CreateTime": rig.next_time(), "MsgType": "text",
              "Content": "#随手拍 铁塔厂家属院3号楼门口路灯坏了", "MsgId": rig.next_id()}
    stale = str(int(rig.harness.clock.now().timestamp()) - 301)
    params = {"signature": signature(OA_TOKEN, stale, "n-stale"), "timestamp": stale, "nonce": "n-stale"}
    response = await rig.client.post("/wechat/callback", params=params, data=xml_message(fields).encode())
    assert response.status == 403 and "window" in await response.text()
    now = rig.signed_at()
    params = {"signature": signature(OA_TOKEN, now, "n-once"), "timestamp": now, "nonce": "n-once"}
    assert (await rig.client.post("/wechat/callback", params=params, data=xml_message(fields).encode())).status == 200
    forged = xml_message({**fields, "Content": "#随手拍 伪造的内容", "MsgId": rig.next_id()}).encode()
    response = await rig.client.post("/wechat/callback", params=params, data=forged)  # the captured URL, reused
    assert response.status == 403 and "nonce" in await response.text()
    after = await counts(rig)
    assert after != before  # the genuine message was taken in; the forgery wrote nothing more
    assert await counts(rig) == after
