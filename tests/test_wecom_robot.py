"""/wecom/robot/callback: the intelligent robot's JSON callbacks (receive id empty), and bad input refused."""

import json

import pytest

from fakes.wechat_api import ROBOT_AES_KEY, ROBOT_TOKEN, encrypt, signature
from tests.conftest import table_counts
from tests.wechat_rig import Rig


@pytest.fixture
async def rig(database_url):
    rig = await Rig.start(database_url)
    yield rig
    await rig.close()


async def counts(rig):
    return await table_counts(rig.harness.runtime.engine)


async def test_url_verification_decrypts_the_echostr_with_an_empty_receive_id(rig):
    echostr = encrypt(ROBOT_AES_KEY, "robot-echo-42", "")
    params = {"msg_signature": signature(ROBOT_TOKEN, "1764460800", "n9", echostr), "timestamp": "1764460800",
              "nonce": "n9", "echostr": echostr}
    response = await rig.client.get("/wecom/robot/callback", params=params)
    assert response.status == 200 and await response.text() == "robot-echo-42"
    forged = await rig.client.get("/wecom/robot/callback", params=params | {"msg_signature": "1" * 40})
    assert forged.status == 403


async def test_a_forged_or_foreign_callback_is_refused_before_any_write(rig):
    before = await counts(rig)
    event = {"msgid": "m1", "chattype": "single", "from": {"userid": "u1"}, "msgtype": "text",
             "text": {"content": "#随手拍 路灯坏了"}}
    assert (await rig.robot_post(event, sign="2" * 40)).status == 403
    foreign = encrypt(ROBOT_AES_KEY, json.dumps(event), "wwSOMECORP")  # sealed for someone else's receive id
    body = json.dumps({"encrypt": foreign}).encode()
    params = {"msg_signature": signature(ROBOT_TOKEN, "1", "n", foreign), "timestamp": "1", "nonce": "n"}
    assert (await rig.client.post("/wecom/robot/callback", params=params, data=body)).status == 403
    assert await counts(rig) == before


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"encrypt": 5}', b"{}"])
async def test_malformed_json_is_a_400(rig, body):
    before = await counts(rig)
    response = await rig.robot_post(body=body, sign="0" * 40)
    assert response.status == 400
    assert await counts(rig) == before


async def test_an_oversized_body_is_a_413(rig):
    response = await rig.robot_post(body=b'{"encrypt": "' + b"A" * (1024 * 1024) + b'"}')
    assert response.status == 413


@pytest.mark.parametrize("event", [
    {"msgid": "e1", "chattype": "single", "from": {"userid": "u1"}, "msgtype": "event",
     "event": {"eventtype": "enter_chat"}},
    {"msgid": "i1", "chattype": "single", "from": {"userid": "u1"}, "msgtype": "image",
     "image": {"url": "https://example.cn/x"}},
    {"msgid": "v1", "chattype": "group", "chatid": "wrG", "from": {"userid": "u1"}, "msgtype": "voice",
     "voice": {"content": "你好"}},
])
async def test_unknown_kinds_get_an_empty_answer_and_file_nothing(rig, event):
    before = await counts(rig)
    response = await rig.robot_post(event)
    assert response.status == 200 and await response.text() == ""
    assert await counts(rig) == before


async def test_a_mixed_message_is_read_for_its_words(rig):
    event = {"msgid": "mx1", "chattype": "single", "from": {"userid": "u7"}, "msgtype": "mixed",
             "response_url": f"{rig.fake.base}/response/1",
             "mixed": {"msg_item": [{"msgtype": "text", "text": {"content": "#随手拍 铁塔厂家属院3号楼路灯坏了"}},
                                    {"msgtype": "image", "image": {"url": "https://example.cn/p.jpg"}}]}}
    response = await rig.robot_post(event)
    assert response.status == 200 and await response.text()
    rows = await rig.harness.inbound_rows()
    assert rows[-1].text == "#随手拍 铁塔厂家属院3号楼路灯坏了"


async def test_a_redelivered_robot_msgid_counts_once(rig):
    first = await rig.robot_text("u8", "#随手拍 铁塔厂家属院3号楼路灯坏了", msgid="dup-1")
    assert "确认" in first
    assert await rig.robot_text("u8", "#随手拍 铁塔厂家属院3号楼路灯坏了", msgid="dup-1") == ""
    assert len(await rig.harness.inbound_rows()) == 1
