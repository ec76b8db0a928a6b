"""The JSON API over HTTP: scope per key, filters and pages, create and act through the chat's lifecycle."""

from __future__ import annotations

from tests.conftest import table_counts
from tests.integrations import new_key, served

API = "/api/v1"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_an_integration_limited_to_a_community_sees_only_its_cases(database_url):
    async with served(database_url) as (bot, http):
        inside = await bot.report("R001", "铁塔厂家属院3号楼路灯不亮了")
        outside = await bot.report("R002", "发电厂生活区5号楼电梯坏了")
        key = await new_key(bot, "community-tool", unit_code="JT-TTC")
        page = await (await http.get(f"{API}/cases", headers=bearer(key))).json()
        assert [item["id"] for item in page["items"]] == [inside.id]
        assert (await http.get(f"{API}/cases/{outside.id}", headers=bearer(key))).status == 404
        detail = await (await http.get(f"{API}/cases/{inside.id}", headers=bearer(key))).json()
        assert [e["action"] for e in detail["events"]][:2] == ["filed", "routed"]
        assert "reporter" not in detail


async def test_a_staff_key_acts_with_the_chat_rules_and_notices(database_url):
    async with served(database_url) as (bot, http):
        case = await bot.report("R001", "铁塔厂家属院3号楼路灯不亮了")
        other = await bot.report("R002", "发电厂生活区5号楼电梯坏了")
        worker = await new_key(bot, "li-juan", staff_code="W001")
        accepted = await http.post(f"{API}/cases/{case.id}/actions", headers=bearer(worker), json={"action": "accept"})
        assert accepted.status == 200 and (await accepted.json())["status"] == "accepted"
        no_note = await http.post(f"{API}/cases/{case.id}/actions", headers=bearer(worker), json={"action": "resolve"})
        assert no_note.status == 400 and (await no_note.json())["error"]["code"] == "note_required"
        resolved = await http.post(f"{API}/cases/{case.id}/actions", headers=bearer(worker),
                                   json={"action": "resolve", "note": "已更换灯泡"})
        assert (await resolved.json())["status"] == "resolved"
        told = [row.text for row in await bot.outbox(f"resident:{case.reporter_id}")]
        assert any("已更换灯泡" in text for text in told)  # the same notice chat's 办结 sends
        again = await http.post(f"{API}/cases/{case.id}/actions", headers=bearer(worker), json={"action": "accept"})
        assert again.status == 409
        foreign = await http.post(f"{API}/cases/{other.id}/actions", headers=bearer(worker), json={"action": "accept"})
        assert foreign.status == 404
        integration = await new_key(bot, "hotline")
        refused = await http.post(f"{API}/cases/{case.id}/actions", headers=bearer(integration),
                                  json={"action": "progress", "note": "x"})
        assert refused.status == 403


async def test_create_files_a_routed_case_and_bad_bodies_write_nothing(database_url):
    async with served(database_url) as (bot, http):
        key = await new_key(bot, "12345")
        created = await http.post(f"{API}/cases", headers=bearer(key), json={
            "text": "秦机小区5号楼楼道灯不亮，联系电话13712345678", "address": "秦机小区5号楼", "external_id": "12345-0001"})
        assert created.status == 201, await created.text()
        body = await created.json()
        assert body["unit_code"] == "JT-QINJ-01-B05" and body["assignee"] is not None
        assert "13712345678" not in body["text"]
        case = await bot.case(body["id"])
        assert case.source_channel == "api" and case.extras["api"]["external_id"] == "12345-0001"
        before = await table_counts(bot.runtime.engine)
        for payload in ({"text": ""}, {"text": "x", "unit_code": "NOPE"}, {"text": "x", "colour": "red"},
                        {"text": 5, "unit_code": "JT-TTC-01"}, {"text": "x" * 5000, "unit_code": "JT-TTC-01"},
                        {"text": "x", "address": "火星基地"}, {"text": "x"}):
            response = await http.post(f"{API}/cases", headers=bearer(key), json=payload)
            assert response.status == 400, (payload, await response.text())
            assert (await response.json())["error"]["message"]
        not_json = await http.post(f"{API}/cases", headers=bearer(key), data="text=x")
        assert not_json.status == 400
        assert await table_counts(bot.runtime.engine) == before


async def test_filters_and_keyset_pages(database_url):
    async with served(database_url) as (bot, http):
        ids = []
        for n, text in enumerate(["铁塔厂家属院3号楼路灯不亮了", "铁塔厂家属院4号楼下水道堵了", "铁塔厂家属院5号楼路灯坏了"]):
            bot.clock.advance(minutes=n)
            ids.append((await bot.report("R001", text)).id)
        key = await new_key(bot, "reader")
        first = await (await http.get(f"{API}/cases", headers=bearer(key), params={"limit": 2})).json()
        assert [i["id"] for i in first["items"]] == [ids[2], ids[1]] and first["next_cursor"]
        second = await (await http.get(f"{API}/cases", headers=bearer(key),
                                       params={"limit": 2, "cursor": first["next_cursor"]})).json()
        assert [i["id"] for i in second["items"]] == [ids[0]] and second["next_cursor"] is None
        lights = await (await http.get(f"{API}/cases", headers=bearer(key),
                                       params={"category": "street_light", "sort": "oldest"})).json()
        assert [i["id"] for i in lights["items"]] == [ids[0], ids[2]]
        words = await (await http.get(f"{API}/cases", headers=bearer(key), params={"q": "下水道"})).json()
        assert [i["id"] for i in words["items"]] == [ids[1]]
        bad = await http.get(f"{API}/cases", headers=bearer(key), params={"limit": "many"})
        assert bad.status == 400 and "limit" in (await bad.json())["error"]["message"]
        assert (await http.get(f"{API}/cases", headers=bearer(key), params={"cursor": "!!"})).status == 400


async def test_keys_are_checked_and_revocable_and_the_document_describes_the_api(database_url):
    async with served(database_url) as (bot, http):
        key = await new_key(bot, "temp")
        assert (await http.get(f"{API}/categories")).status == 401
        assert (await http.get(f"{API}/categories", headers={"X-API-Key": key})).status == 200
        from bot.web.keys import revoke_key
        async with bot.services.sessions.begin() as session:
            await revoke_key(session, "temp", now=bot.clock.now())
        assert (await http.get(f"{API}/categories", headers=bearer(key))).status == 401
        doc = await (await http.get(f"{API}/openapi.json")).json()
        assert doc["openapi"].startswith("3.")
        schemas = doc["components"]["schemas"]
        for path, item in doc["paths"].items():
            for operation in item.values():
                for response in operation["responses"].values():
                    ref = response["content"]["application/json"]["schema"]
                    ref = ref.get("items", ref)["$ref"]
                    assert ref.rsplit("/", 1)[1] in schemas, (path, ref)


async def test_statistics_and_units_stay_within_the_key_scope(database_url):
    async with served(database_url) as (bot, http):
        case = await bot.report("R001", "铁塔厂家属院3号楼路灯不亮了")
        await bot.staff("W001", f"接单 {case.id}")
        await bot.staff("W001", f"办结 {case.id} 已修好")
        await bot.report("R002", "发电厂生活区5号楼电梯坏了")
        key = await new_key(bot, "tower-plant", unit_code="JT-TTC")
        stats = await (await http.get(f"{API}/statistics", headers=bearer(key))).json()
        assert stats["unit_code"] == "JT-TTC" and stats["figures"]["total"] == 1 and stats["figures"]["done"] == 1
        outside = await http.get(f"{API}/statistics", headers=bearer(key), params={"unit": "JT-FDC"})
        assert outside.status == 404
        bad_date = await http.get(f"{API}/statistics", headers=bearer(key), params={"since": "0.5"})
        assert bad_date.status == 400
        units = await (await http.get(f"{API}/units", headers=bearer(key))).json()
        assert units[0]["code"] == "JT-TTC" and all(u["code"].startswith("JT-TTC") for u in units)


async def test_wishes_and_projects_as_the_public_sees_them(database_url):
    from tests.test_community import published, resident_names

    async with served(database_url) as (bot, http):
        await bot.staff("C001", "新建实事 加装路灯｜5万｜为铁塔厂家属院加装路灯")
        await bot.staff("C001", "节点 P1 安装 1")
        await bot.staff("C001", "进度 P1 1 50")
        wish = await published(bot, "R001", "希望楼下能装一盏路灯，我电话13709171001", group="JT-TTC-01")
        key = await new_key(bot, "community-site", unit_code="JT-TTC")
        wall = await (await http.get(f"{API}/wishes", headers=bearer(key))).json()
        assert [w["number"] for w in wall] == [wish.number] and wall[0]["status_label"]
        names = await resident_names(bot)
        assert "13709171001" not in str(wall) and not any(name in str(wall) for name in names)
        [project] = await (await http.get(f"{API}/projects", headers=bearer(key),
                                          params={"community": "JT-TTC", "year": 2026})).json()
        assert project["progress"] == 50.0 and project["milestones"][0]["title"] == "安装"
        elsewhere = await http.get(f"{API}/projects", headers=bearer(key), params={"community": "JT-WX", "year": 2026})
        assert elsewhere.status == 404
        bad_year = await http.get(f"{API}/projects", headers=bearer(key), params={"community": "JT-TTC", "year": "x"})
        assert bad_year.status == 400
