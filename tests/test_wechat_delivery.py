"""WeChat and WeCom senders against the fake APIs: shared tokens, expired tokens, busy, 5xx, timeouts, fallbacks."""

import asyncio
import base64
import uuid

import pytest
from sqlalchemy import select

from bot.channels.wechat import WeChatChannel
from bot.delivery.outbox import Notice, enqueue
from bot.delivery.runner import drain
from models import ChatGroup, GridUnit, Outbox, PlatformToken, SendState
from tests.wechat_rig import Rig

OPENID = "oGridResident000000000000002"
CUSTOM = "/cgi-bin/message/custom/send"
TEMPLATE = "/cgi-bin/message/template/send"
APP_SEND = "/cgi-bin/message/send"


@pytest.fixture
async def rig(database_url):
    rig = await Rig.start(database_url)
    yield rig
    await rig.close()


async def notice(rig: Rig, channel: str, chat_id: str, text: str = "您反映的 R-1 已办结。", **extras) -> None:
    services = rig.harness.services
    async with services.sessions.begin() as session:
        await enqueue(session, Notice(dedupe_key=uuid.uuid4().hex, channel=channel, chat_id=chat_id,
                                      recipient="test", text=text, extras={"buttons": [], **extras}),
                      now=services.clock.now())


async def rows(rig: Rig) -> list[Outbox]:
    return await rig.harness.outbox()


async def drain_wechat(rig: Rig) -> int:
    services = rig.harness.services
    return await drain(services.sessions, rig.wechat.sender, services.clock)


async def test_one_token_is_fetched_and_shared_by_two_instances(rig):
    second_instance = WeChatChannel(rig.harness.runtime.dispatcher)  # same database, its own memory and session
    try:
        services = rig.harness.services
        await notice(rig, "wechat", OPENID)
        assert await drain(services.sessions, rig.wechat.sender, services.clock) == 1
        await notice(rig, "wechat", OPENID)
        assert await drain(services.sessions, second_instance.sender, services.clock) == 1
        assert len(rig.fake.to("/cgi-bin/token")) == 1
        tokens = {call.query["access_token"] for call in rig.fake.to(CUSTOM)}
        assert len(tokens) == 1
        async with services.sessions() as session:
            stored = await session.get(PlatformToken, f"wechat:{services.settings.wechat_appid}")
        assert stored.value in tokens
    finally:
        await second_instance.close()


async def test_concurrent_refreshes_agree_on_one_token(rig):
    """Each instance fetches at most once, outside any transaction; the compare-and-set store keeps one token."""
    store = rig.wechat.api.tokens
    other = WeChatChannel(rig.harness.runtime.dispatcher)
    try:
        tokens = await asyncio.gather(*(s.get(rig.wechat.api.http) for s in [store, other.api.tokens] * 4))
        assert len(set(tokens)) == 1 and store.fetches <= 1 and other.api.tokens.fetches <= 1
    finally:
        await other.close()


async def test_a_token_near_expiry_is_refreshed_before_use(rig):
    await notice(rig, "wechat", OPENID)
    await drain_wechat(rig)
    rig.harness.clock.advance(seconds=7200 - 60)  # inside the five-minute margin
    await notice(rig, "wechat", OPENID)
    await drain_wechat(rig)
    assert len(rig.fake.to("/cgi-bin/token")) == 2
    first, second = (call.query["access_token"] for call in rig.fake.to(CUSTOM))
    assert first != second


async def test_an_expired_token_error_refreshes_and_sends_once(rig):
    await notice(rig, "wechat", OPENID)
    await drain_wechat(rig)
    rig.fake.expire_tokens()  # the platform dropped the token before its announced expiry
    await notice(rig, "wechat", OPENID, "第二条")
    assert await drain_wechat(rig) == 1
    assert len(rig.fake.to("/cgi-bin/token")) == 2
    assert [c.body["text"]["content"] for c in rig.fake.to(CUSTOM)] == ["您反映的 R-1 已办结。", "第二条", "第二条"]
    assert [r.state for r in await rows(rig)] == [SendState.SENT, SendState.SENT]


@pytest.mark.parametrize("fault", [-1, "5xx", "timeout", 45009])
async def test_busy_5xx_and_timeouts_are_retried_with_backoff(rig, fault):
    rig.fake.inject(CUSTOM, fault)
    await notice(rig, "wechat", OPENID)
    assert await drain_wechat(rig) == 0
    (row,) = await rows(rig)
    assert row.state is SendState.FAILED and row.attempts == 1 and row.due_at > rig.harness.clock.now()
    rig.harness.clock.advance(hours=1, seconds=1)
    assert await drain_wechat(rig) == 1
    (row,) = await rows(rig)
    assert row.state is SendState.SENT and row.attempts == 2 and row.platform_message_id


async def test_an_invalid_openid_is_dead_at_once(rig):
    rig.fake.inject(CUSTOM, 40003)
    await notice(rig, "wechat", "not-an-openid")
    await drain_wechat(rig)
    (row,) = await rows(rig)
    assert row.state is SendState.DEAD and row.attempts == 1 and row.last_error.startswith("40003")


async def test_out_of_the_48_hours_falls_back_to_the_template_message(rig):
    rig.fake.inject(CUSTOM, 45015)
    await notice(rig, "wechat", OPENID, "您反映的 R-1 已办结，请评价。")
    assert await drain_wechat(rig) == 1
    (call,) = rig.fake.to(TEMPLATE)
    assert call.body["touser"] == OPENID and call.body["template_id"] == "TPL-RESULT"
    assert call.body["data"]["thing1"]["value"] == "您反映的 R-1 已办结，请评价。"[:20]


async def test_out_of_the_48_hours_without_a_template_is_recorded_dead(database_url):
    rig = await Rig.start(database_url, wechat_template_id=None)
    try:
        rig.fake.inject(CUSTOM, 45015)
        await notice(rig, "wechat", OPENID)
        await drain_wechat(rig)
        (row,) = await rows(rig)
        assert row.state is SendState.DEAD and "48小时" in row.last_error and not rig.fake.to(TEMPLATE)
    finally:
        await rig.close()


async def test_buttons_to_a_resident_become_a_tappable_menu(rig):
    await notice(rig, "wechat", OPENID, "请评价", buttons=[["满意", "满意 1"], ["不满意", "不满意 1"]])
    await drain_wechat(rig)
    (call,) = rig.fake.to(CUSTOM)
    assert call.body["msgtype"] == "msgmenu"
    assert [item["content"] for item in call.body["msgmenu"]["list"]] == ["满意 1", "不满意 1"]


async def test_staff_notices_are_app_messages_and_cards(rig):
    await notice(rig, "wecom", "lijuan", "【随手拍 R-1】路灯\n地点：铁塔厂家属院3号楼\n内容：路灯坏了",
                 buttons=[["接单", "接单 1"], ["办结", "办结 1"]],
                 media=[{"kind": "photo", "ref": "M1", "url": "http://mmbiz.example/p.jpg"}])
    await notice(rig, "wecom", "lijuan", "提醒：R-1 将于两小时后超时")
    assert await rig.deliver() == 2
    card, text = rig.fake.to(APP_SEND)
    assert card.body["msgtype"] == "template_card" and card.body["agentid"] == 1000002
    template_card = card.body["template_card"]
    assert template_card["card_type"] == "button_interaction"
    assert [b["key"] for b in template_card["button_list"]] == ["接单 1", "办结 1"]
    assert {"keyname": "地点", "value": "铁塔厂家属院3号楼"} in template_card["horizontal_content_list"]
    assert template_card["jump_list"][0]["url"] == "http://mmbiz.example/p.jpg"
    assert text.body == {**text.body, "msgtype": "text", "touser": "lijuan"}
    assert len(rig.fake.to("/cgi-bin/gettoken")) == 1


async def test_an_unknown_member_is_dead_and_wecom_busy_is_retried(rig):
    rig.fake.inject(APP_SEND, 81013, -1)
    await notice(rig, "wecom", "nobody")
    await rig.deliver()  # one chat at a time: two chats are sent to at once, in no fixed order
    await notice(rig, "wecom", "lijuan")
    await rig.deliver()
    first, second = await rows(rig)
    assert first.state is SendState.DEAD and second.state is SendState.FAILED


async def bind_group(rig: Rig, chat_id: str, *, webhook_key: str | None) -> None:
    async with rig.harness.services.sessions.begin() as session:
        unit = await session.scalar(select(GridUnit).where(GridUnit.code == "JT-TTC-01"))
        session.add(ChatGroup(channel="wecom", chat_id=chat_id, title="铁塔厂家属院居民群", unit_id=unit.id,
                              extras={"webhook_key": webhook_key} if webhook_key else {}))


async def test_group_webhook_text_markdown_mentions_and_its_rate_limit(rig):
    await bind_group(rig, "wrGROUP1", webhook_key="KEY-1")
    await notice(rig, "wecom", "wrGROUP1", "张桂兰反映的路灯已修好", mention={"user_id": "zhanggl", "name": "张桂兰"})
    await notice(rig, "wecom", "wrGROUP1", "**本周进展**\n新收 12 件", format="markdown")
    assert await rig.deliver() == 2
    text, markdown = rig.fake.to("/cgi-bin/webhook/send")
    assert text.query["key"] == "KEY-1" and text.body["text"]["mentioned_list"] == ["zhanggl"]
    assert markdown.body == {"msgtype": "markdown", "markdown": {"content": "**本周进展**\n新收 12 件"}}
    for _ in range(19):
        await notice(rig, "wecom", "wrGROUP1", "广播")
    assert await rig.deliver() == 18  # 20 a minute per group robot
    # The one over the limit is handed back unsent, its attempt not counted: a burst never marches rows to death.
    limited = [r for r in await rows(rig) if r.state is SendState.PENDING]
    assert len(limited) == 1 and limited[0].attempts == 0 and limited[0].due_at > rig.harness.clock.now()


async def test_a_chart_that_failed_after_its_text_is_retried_without_the_text(rig):
    await bind_group(rig, "wrGROUP3", webhook_key="KEY-3")
    chart = base64.b64encode(b"\x89PNG\r\n\x1a\n chart").decode()
    await notice(rig, "wecom", "wrGROUP3", "【本周进展】新受理 2 件",
                 image={"filename": "weekly.png", "mime": "image/png", "png_base64": chart})
    rig.fake.inject("/cgi-bin/webhook/send", None, "5xx")  # the text goes through, the picture meets a 502
    assert await rig.deliver() == 0
    (row,) = await rows(rig)
    assert row.state is SendState.FAILED and row.extras["text_sent"]
    rig.harness.clock.advance(hours=1)
    assert await rig.deliver() == 1
    kinds = [call.body["msgtype"] for call in rig.fake.to("/cgi-bin/webhook/send")]
    assert kinds == ["text", "image", "image"]  # the text once, the picture again


async def test_a_group_without_a_webhook_key_is_recorded_dead(rig):
    await bind_group(rig, "wrGROUP2", webhook_key=None)
    await notice(rig, "wecom", "wrGROUP2", "广播")
    await rig.deliver()
    (row,) = await rows(rig)
    assert row.state is SendState.DEAD and "webhook" in row.last_error


CARD = "【随手拍 R-1】路灯\n地点：铁塔厂家属院3号楼\n内容：路灯坏了"
BUTTONS = [["接单", "接单 1"], ["办结", "办结 1"]]


def cards_to(rig: Rig, userid: str) -> list[dict]:
    """The template cards WeCom took in for one member (what they see)."""
    return [call.body["template_card"] for call in rig.fake.delivered
            if call.path == APP_SEND and call.body["msgtype"] == "template_card" and call.body["touser"] == userid]


async def test_a_card_whose_answer_was_lost_is_sent_again_and_shown_once(rig):
    await notice(rig, "wecom", "lijuan", CARD, buttons=BUTTONS)
    rig.fake.inject(APP_SEND, "late")  # WeCom takes the card in; its answer never reaches gridbot
    assert await rig.deliver() == 0
    rig.harness.clock.advance(hours=1)
    assert await rig.deliver() == 1
    first, again = rig.fake.to(APP_SEND)
    assert first.body == again.body  # the same message, task id and all: WeCom's duplicate check recognises it
    (row,) = await rows(rig)
    assert row.state is SendState.SENT and row.attempts == 2
    assert len(cards_to(rig, "lijuan")) == 1


async def test_a_card_sent_again_after_the_duplicate_check_is_refused_by_task_id_and_counts_as_sent(rig):
    rig.fake.clock = lambda: rig.harness.clock.now().timestamp()  # WeCom's interval runs on the test's clock
    await notice(rig, "wecom", "lijuan", CARD, buttons=BUTTONS)
    rig.fake.inject(APP_SEND, "late")
    assert await rig.deliver() == 0
    rig.harness.clock.advance(hours=1)  # past the 30-minute duplicate check
    assert await rig.deliver() == 1
    _, again = rig.fake.to(APP_SEND)
    assert again.answer["errcode"] == 42014
    (row,) = await rows(rig)
    assert row.state is SendState.SENT and row.last_error is None
    assert len(cards_to(rig, "lijuan")) == 1


async def test_two_notices_with_the_same_words_are_two_cards(rig):
    await notice(rig, "wecom", "lijuan", CARD, buttons=BUTTONS)
    await notice(rig, "wecom", "lijuan", CARD, buttons=BUTTONS)
    assert await rig.deliver() == 2
    first, second = cards_to(rig, "lijuan")
    assert first["task_id"] != second["task_id"]
