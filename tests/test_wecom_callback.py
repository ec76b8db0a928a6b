"""/wecom/callback: the official WXBizMsgCrypt test vector, and every bad input refused before anything is written."""

import pytest

from fakes.wechat_api import CORP_ID, WECOM_AES_KEY, WECOM_TOKEN, encrypt, signature, xml_message
from models import InboundStatus
from tests.conftest import table_counts
from tests.wechat_rig import Rig

VECTOR_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3"
    "TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gs"
    "ijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUa"
    "x5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIG"
    "HBZZIs2pDBS8R07+qN+E7Q=="
)
VECTOR_ECHOSTR = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="


@pytest.fixture
async def rig(database_url):
    rig = await Rig.start(database_url)
    yield rig
    await rig.close()


async def counts(rig):
    return await table_counts(rig.harness.runtime.engine)


async def test_official_vector_verifies_the_url(rig):
    response = await rig.client.get("/wecom/callback", params={
        "msg_signature": "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "timestamp": "1409659589", "nonce": "263014780",
        "echostr": VECTOR_ECHOSTR})
    assert response.status == 200
    assert await response.text() == "1616140317555161061"


async def test_official_vector_message_decrypts_and_is_handled_once(rig):
    rig.harness.clock.advance(seconds=1409659813 - rig.harness.clock.now().timestamp())  # the vector's own time
    body = xml_message({"ToUserName": CORP_ID, "Encrypt": VECTOR_ENCRYPT, "AgentID": "218"}).encode()
    params = {"msg_signature": "477715d11cdb4164915debcba66cb864d751f3e6", "timestamp": "1409659813",
              "nonce": "1372623149"}
    response = await rig.client.post("/wecom/callback", params=params, data=body)
    assert response.status == 200
    assert rig.app_reply(await response.text())  # "hello" gets an answer, encrypted and signed for WeCom
    rows = await rig.harness.inbound_rows()
    assert [(r.channel, r.platform_message_id, r.sender_id) for r in rows] == [
        ("wecom", "4561255354251345929", "mycreate")]
    again = await rig.client.post("/wecom/callback", params=params, data=body)  # WeCom's retry of the same MsgId
    assert again.status == 200 and await again.text() == ""
    assert len(await rig.harness.inbound_rows()) == 1


async def test_a_forged_signature_is_refused_before_any_write(rig):
    before = await counts(rig)
    response = await rig.app_post({"FromUserName": "W001", "MsgType": "text", "Content": "接单 1", "MsgId": 1},
                                  sign="0" * 40)
    assert response.status == 403
    verify = await rig.client.get("/wecom/callback", params={
        "msg_signature": "0" * 40, "timestamp": "1409659589", "nonce": "263014780", "echostr": VECTOR_ECHOSTR})
    assert verify.status == 403
    missing = await rig.client.post("/wecom/callback", data=b"<xml/>")
    assert missing.status == 403
    assert await counts(rig) == before


async def test_a_message_for_another_corp_is_refused(rig):
    before = await counts(rig)
    encrypted = encrypt(WECOM_AES_KEY, xml_message({"FromUserName": "u", "MsgType": "text", "Content": "hi",
                                                    "MsgId": 7}), "wwOTHERCORP000000")
    response = await rig.app_post(encrypted=encrypted)
    assert response.status == 403
    assert await counts(rig) == before


@pytest.mark.parametrize("body", [
    b"<xml><ToUserName>wx</ToUserName><Encrypt>abc",  # cut off
    b"not xml at all",
    b"",
])
async def test_malformed_xml_is_a_400(rig, body):
    before = await counts(rig)
    response = await rig.app_post(body=body, encrypted="abc")
    assert response.status == 400
    assert await counts(rig) == before


async def test_entity_expansion_is_refused(rig):
    bomb = (b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            b"<xml><Encrypt>&b;</Encrypt></xml>")
    before = await counts(rig)
    response = await rig.app_post(body=bomb, encrypted="&b;")
    assert response.status == 400
    inner = encrypt(WECOM_AES_KEY, '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><MsgType>text'
                                   "</MsgType><Content>&e;</Content><FromUserName>u</FromUserName><MsgId>9</MsgId></xml>",
                    CORP_ID)
    assert (await rig.app_post(encrypted=inner)).status == 400
    assert await counts(rig) == before


async def test_an_oversized_body_is_a_413(rig):
    before = await counts(rig)
    response = await rig.app_post(body=b"<xml>" + b"a" * (1024 * 1024 + 10) + b"</xml>", encrypted="abc")
    assert response.status == 413
    assert await counts(rig) == before


@pytest.mark.parametrize("fields", [
    {"MsgType": "video", "MediaId": "m1", "ThumbMediaId": "t1", "MsgId": 11},
    {"MsgType": "event", "Event": "enter_agent", "EventKey": ""},
    {"MsgType": "hologram", "MsgId": 12},
])
async def test_unknown_types_get_an_empty_answer_and_file_nothing(rig, fields):
    before = await counts(rig)
    response = await rig.app_post({"ToUserName": CORP_ID, "FromUserName": "W001", "CreateTime": 1764460800,
                                   "AgentID": 1000002, **fields})
    assert response.status == 200 and await response.text() == ""
    assert await counts(rig) == before


async def test_a_replayed_msgid_files_one_case(rig):
    first = await rig.app_text("zhangsan", "#随手拍 铁塔厂家属院3号楼门口路灯坏了", msg_id=900001)
    assert "确认" in first
    assert await rig.app_text("zhangsan", "确认", msg_id=900002)
    assert await rig.app_text("zhangsan", "确认", msg_id=900002) == ""
    assert await rig.app_text("zhangsan", "#随手拍 铁塔厂家属院3号楼门口路灯坏了", msg_id=900001) == ""
    assert len(await rig.harness.cases()) == 1
    statuses = [row.status for row in await rig.harness.inbound_rows()]
    assert statuses == [InboundStatus.HANDLED, InboundStatus.HANDLED]


def test_the_signature_helper_matches_the_vector():
    assert signature(WECOM_TOKEN, "1409659813", "1372623149", VECTOR_ENCRYPT) == "477715d11cdb4164915debcba66cb864d751f3e6"


async def test_a_chunked_body_without_length_is_read_whole_and_capped(rig):
    async def stream(body: bytes, piece: int = 1000):
        for start in range(0, len(body), piece):
            yield body[start:start + piece]

    params = {"msg_signature": "0" * 40, "timestamp": "1", "nonce": "n"}
    big = await rig.client.post("/wecom/callback", params=params, data=stream(b"<xml>" + b"a" * (1024 * 1024) + b"</xml>",
                                                                               64 * 1024))
    assert big.status == 413
    message = xml_message({"ToUserName": CORP_ID, "FromUserName": "zhangsan", "CreateTime": 1764460800,
                           "MsgType": "text", "Content": "我的诉求" * 200, "MsgId": 880001, "AgentID": 1000002})
    encrypted = encrypt(WECOM_AES_KEY, message, CORP_ID)
    body = xml_message({"ToUserName": CORP_ID, "Encrypt": encrypted, "AgentID": "1000002"}).encode()
    stamp = rig.signed_at()
    params = {"msg_signature": signature(WECOM_TOKEN, stamp, "n", encrypted), "timestamp": stamp, "nonce": "n"}
    small = await rig.client.post("/wecom/callback", params=params, data=stream(body))
    assert small.status == 200 and rig.app_reply(await small.text())
