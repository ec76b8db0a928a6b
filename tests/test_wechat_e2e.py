"""End to end on each WeChat surface: Official Account → WeCom card → buttons → result and rating; robot in a
group; a broadcast through a group webhook."""

import pytest
from sqlalchemy import select

from bot.jobs.broadcasts import weekly_broadcast
from bot.pipeline.invites import create_invite
from models import CaseStatus, ChatGroup, GridUnit, Identity, SendState, Staff
from tests.wechat_rig import Rig

OPENID = "oGridResident00000000000000e"
APP_SEND = "/cgi-bin/message/send"
CUSTOM = "/cgi-bin/message/custom/send"


@pytest.fixture
async def rig(database_url):
    rig = await Rig.start(database_url)
    yield rig
    await rig.close()


async def bind_worker(rig: Rig, code: str, userid: str) -> None:
    """The worker sends the app the one-time code an admin gave them, the same kind Telegram deep links carry."""
    services = rig.harness.services
    async with services.sessions.begin() as session:
        token = await create_invite(session, code, now=services.clock.now())
    assert "绑定成功" in await rig.app_text(userid, f"绑定 {token}")


async def bind_group(rig: Rig, chat_id: str, unit_code: str, webhook_key: str | None = None) -> None:
    async with rig.harness.services.sessions.begin() as session:
        unit = await session.scalar(select(GridUnit).where(GridUnit.code == unit_code))
        session.add(ChatGroup(channel="wecom", chat_id=chat_id, title="铁塔厂家属院居民群", unit_id=unit.id,
                              extras={"webhook_key": webhook_key} if webhook_key else {}))


def cards_to(rig: Rig, userid: str) -> list[dict]:
    return [c.body["template_card"] for c in rig.fake.to(APP_SEND)
            if c.body["touser"] == userid and c.body["msgtype"] == "template_card"]


def texts_to(rig: Rig, userid: str) -> list[str]:
    return [c.body["text"]["content"] for c in rig.fake.to(APP_SEND)
            if c.body["touser"] == userid and c.body["msgtype"] == "text"]


async def test_official_account_report_is_taken_and_resolved_from_a_wecom_card_and_rated(rig):
    await bind_worker(rig, "W001", "lijuan")
    assert "确认" in await rig.oa_text(OPENID, "#随手拍 铁塔厂家属院3号楼门口路灯坏了，晚上很黑")
    assert "编号 #" in await rig.oa_text(OPENID, "确认")
    case = await rig.harness.latest_case()
    assert case.assignee.code == "W001" and case.source_channel == "wechat"

    await rig.deliver()
    (card,) = cards_to(rig, "lijuan")
    assert f"接单 {case.id}" in [b["key"] for b in card["button_list"]]

    response = await rig.card_click("lijuan", f"接单 {case.id}", card["task_id"])
    assert response.status == 200 and await response.text() == ""  # the card stays; the answer is a message
    assert (await rig.harness.case(case.id)).status is CaseStatus.ACCEPTED
    await rig.fake.wait_for(APP_SEND, 2)
    assert any("已接单" in text for text in texts_to(rig, "lijuan"))

    await rig.card_click("lijuan", f"办结 {case.id}", card["task_id"])  # the button alone lacks the note
    await rig.fake.wait_for(APP_SEND, 3)
    assert any("办结说明" in text for text in texts_to(rig, "lijuan"))
    assert "办结" in await rig.app_text("lijuan", f"办结 {case.id} 已更换灯泡，恢复照明")
    assert (await rig.harness.case(case.id)).status is CaseStatus.RESOLVED

    await rig.deliver()
    to_resident = [c.body for c in rig.fake.to(CUSTOM) if c.body["touser"] == OPENID]
    result = [body for body in to_resident if "已更换灯泡" in str(body)]
    assert result and result[-1]["msgtype"] == "msgmenu"
    assert f"满意 {case.id}" in [item["content"] for item in result[-1]["msgmenu"]["list"]]

    assert await rig.oa_text(OPENID, f"满意 {case.id}")  # the resident taps 满意 in the menu
    case = await rig.harness.case(case.id)
    assert case.rating is not None and case.status in (CaseStatus.RESOLVED, CaseStatus.CLOSED)
    assert all(row.state is SendState.SENT for row in await rig.harness.outbox()
               if row.channel in ("wechat", "wecom"))


async def test_a_resident_mentions_the_robot_in_a_group_and_a_case_is_filed_for_its_unit(rig):
    await bind_group(rig, "wrGroupTieTa01", "JT-TTC-01", webhook_key="KEY-TT")
    answer = await rig.robot_text("zhangguilan", "#随手拍 3号楼门口垃圾好几天没人清了", chatid="wrGroupTieTa01")
    assert "确认" in answer
    assert "编号 #" in await rig.robot_text("zhangguilan", "确认", chatid="wrGroupTieTa01")
    case = await rig.harness.latest_case()
    assert case.source_channel == "wecom" and case.source_chat_id == "wrGroupTieTa01"
    assert case.unit.code.startswith("JT-TTC-01")
    async with rig.harness.services.sessions() as session:
        identity = await session.scalar(select(Identity).where(Identity.user_id == "zhangguilan"))
    assert identity.resident_id is not None and identity.channel == "wecom"


async def test_group_chatter_reaches_gridbot_only_by_mention_and_private_robot_chat_works(rig):
    answer = await rig.robot_text("zhangguilan", "我的诉求")  # 1:1 with the robot
    assert answer
    rows = await rig.harness.inbound_rows()
    assert rows[-1].chat_id == "zhangguilan" and rows[-1].platform_message_id.startswith("robot:")


async def test_robot_work_past_the_window_follows_up_through_response_url(database_url):
    rig = await Rig.start(database_url, wechat_reply_window_seconds=0.000001)
    try:
        await bind_group(rig, "wrGroupTieTa01", "JT-TTC-01")
        assert await rig.robot_text("zhangguilan", "#随手拍 3号楼门口垃圾没人清", chatid="wrGroupTieTa01") == ""
        calls = await rig.fake.wait_for("/response/", prefix=True)
        assert calls[0].body["msgtype"] == "markdown" and "确认" in calls[0].body["markdown"]["content"]
    finally:
        await rig.close()


async def test_the_weekly_broadcast_goes_out_through_the_group_webhook(rig):
    await bind_group(rig, "wrGroupTieTa01", "JT-TTC-01", webhook_key="KEY-TT")
    await bind_worker(rig, "S001", "gaojianhua")  # the community secretary gets the chart in the app
    services = rig.harness.services
    tally = await weekly_broadcast(services, "2026-W48", services.clock.now())
    assert tally.groups >= 1
    await rig.deliver()
    (webhook,) = [c for c in rig.fake.to("/cgi-bin/webhook/send") if c.body["msgtype"] == "text"]
    assert webhook.query["key"] == "KEY-TT" and "铁塔厂家属院" in webhook.body["text"]["content"]
    assert rig.fake.to("/cgi-bin/media/upload")[0].body["filename"].endswith(".png")
    assert [c.body["msgtype"] for c in rig.fake.to(APP_SEND) if c.body["touser"] == "gaojianhua"][-2:] == [
        "text", "image"]
    async with services.sessions() as session:
        staff = await session.scalar(select(Staff).where(Staff.code == "S001"))
    assert staff is not None
