"""Staff run the wish line from WeCom (企业微信): review and publish a wish a resident made on the Official Account,
approve a claim, certify hours; every step answered through the encrypted callback."""

from __future__ import annotations

import pytest

from tests.test_wechat_e2e import OPENID, bind_worker
from tests.wechat_rig import Rig


@pytest.fixture
async def rig(database_url):
    rig = await Rig.start(database_url)
    yield rig
    await rig.close()


async def test_staff_review_publish_and_certify_from_wecom(rig: Rig):
    await bind_worker(rig, "C001", "bailu")
    assert "确认" in await rig.oa_text(OPENID, "#微心愿 铁塔厂家属院3号楼，电话13709179999，希望有人帮忙修一下轮椅")
    assert "编号 W1" in await rig.oa_text(OPENID, "确认")
    assert "W1" in await rig.app_text("bailu", "待审核")
    assert "需要社区审批" in await rig.app_text("bailu", "认领审批 开")
    answer = await rig.app_text("bailu", "通过 W1")
    assert "将公开的内容" in answer and "13709179999" not in answer and "137****9999" in answer
    assert "已通知" in await rig.app_text("bailu", "发布 W1")
    assert "社区审批后" in await rig.harness.resident("U001", "认领 W1")
    assert "已批准" in await rig.app_text("bailu", "批准认领 W1")
    await rig.harness.resident("U001", "实现 W1 轮椅已修好", photos=1)
    await rig.harness.resident("U001", "工时 W1 2 上门维修")
    assert "已确认" in await rig.app_text("bailu", "确认工时 G1")
    assert await rig.deliver() > 0
    resident = rig.fake.to("/cgi-bin/message/custom/send")
    assert any("已实现" in str(call.body) for call in resident)
