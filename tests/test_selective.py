"""Selective automation: a category is taken without asking only when it leads the runner-up by the set margin."""

from __future__ import annotations

import pytest

from tests.harness import Harness

GROUP = "JT-TTC-01"
CLOSE_CALL = "#随手拍 小区东门那盏路灯一直不亮，老人晚上出来遛弯都害怕"  # 路灯 leads, 养老 follows


@pytest.mark.parametrize(("margin", "automatic"), [(0.0, True), (0.8, False)])
async def test_margin_decides_between_automatic_and_three_suggestions(database_url, margin, automatic):
    bot = await Harness.start(database_url, auto_route_margin=margin)
    try:
        answer = await bot.resident("R001", CLOSE_CALL, group=GROUP)
        if automatic:
            assert "类别：路灯照明" in answer and "确认" in answer
        else:
            assert "属于哪一类" in answer and "1. 路灯照明" in answer and "其他" in answer
    finally:
        await bot.close()
