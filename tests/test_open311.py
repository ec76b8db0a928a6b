"""Open311 GeoReport v2 over HTTP: the spec's endpoints, formats and errors, and intake through the chat's filing."""

from __future__ import annotations

import xmltodict
from sqlalchemy import select

from models import Case, Open311Token
from tests.conftest import table_counts
from tests.integrations import new_key, served

V2 = "/open311/v2"
SPEC_EXAMPLE = {  # the fields of the spec's POST example, placed in the demo district
    "service_code": "street_light", "lat": "34.3541", "long": "107.1127", "email": "smit222@sfgov.edu",
    "device_id": "tt222111", "account_id": "123456", "first_name": "john", "last_name": "smith",
    "phone": "13812345678", "description": "路灯一到晚上就不亮，已经三天了", "media_url": "http://example.org/lamp.jpg",
}


async def test_discovery_and_services_in_json_and_xml(database_url):
    async with served(database_url) as (bot, http):
        discovery = await (await http.get(f"{V2}/discovery.json")).json()
        assert discovery["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"
        assert "text/xml" in discovery["endpoints"][0]["formats"]
        response = await http.get(f"{V2}/services.json")
        services = await response.json()
        assert response.content_type == "application/json" and isinstance(services, list)
        codes = {s["service_code"] for s in services}
        assert "street_light" in codes and all(s["type"] == "realtime" and s["group"] for s in services)
        assert {s["group"] for s in services if s["service_code"] in ("street_light", "road")} == {"城乡建设"}
        xml = xmltodict.parse(await (await http.get(f"{V2}/services.xml")).text())
        assert {s["service_code"] for s in xml["services"]["service"]} == codes
        definition = await (await http.get(f"{V2}/services/street_light.json")).json()
        assert definition["service_code"] == "street_light"
        assert [a["code"] for a in definition["attributes"]] == ["building"]
        missing = await http.get(f"{V2}/services/no_such_thing.xml")
        assert missing.status == 404
        assert xmltodict.parse(await missing.text())["errors"]["error"]["code"] == "404"


async def test_post_then_token_then_id_round_trip(database_url):
    async with served(database_url) as (bot, http):
        key = await new_key(bot, "fixmystreet")
        response = await http.post(f"{V2}/requests.json", data={"api_key": key, **SPEC_EXAMPLE})
        assert response.status == 200, await response.text()
        [created] = await response.json()
        assert created["service_request_id"] and created["token"] and "已受理" in created["service_notice"]
        [by_token] = await (await http.get(f"{V2}/tokens/{created['token']}.json")).json()
        assert by_token["service_request_id"] == created["service_request_id"]
        [request] = await (await http.get(f"{V2}/requests/{created['service_request_id']}.json")).json()
        assert request["status"] == "open" and request["service_code"] == "street_light"
        assert request["address_id"] == "JT-TTC-02" and request["lat"] == 34.3541
        assert request["media_url"] == "http://example.org/lamp.jpg" and request["expected_datetime"]
        body = str(request)
        assert "smith" not in body and "13812345678" not in body and "smit222" not in body
        case = await bot.case(int(created["service_request_id"]))
        assert case.source_channel == "open311" and case.assignee_id is not None  # routed as chat routes
        assert any(row.recipient.startswith("staff:") for row in await bot.outbox())
        xml = xmltodict.parse(await (await http.get(f"{V2}/requests/{case.id}.xml")).text())
        assert xml["service_requests"]["request"]["service_request_id"] == str(case.id)


async def test_address_string_places_the_building_and_an_unknown_place_is_refused(database_url):
    async with served(database_url) as (bot, http):
        key = await new_key(bot, "hotline")
        ok = await http.post(f"{V2}/requests.xml", data={
            "api_key": key, "service_code": "street_light", "description": "楼道灯坏了",
            "address_string": "秦机小区", "attribute[building]": "5号楼"})
        created = xmltodict.parse(await ok.text())["service_requests"]["request"]
        case = await bot.case(int(created["service_request_id"]))
        assert bot.services.directory.unit(case.unit_id).code == "JT-QINJ-01-B05"
        before = await table_counts(bot.runtime.engine)
        far = await http.post(f"{V2}/requests.json", data={
            "api_key": key, "service_code": "street_light", "description": "x", "lat": "39.9", "long": "116.4"})
        assert far.status == 400 and "jurisdiction" in (await far.json())[0]["description"]
        assert await table_counts(bot.runtime.engine) == before


async def test_a_case_resolved_in_chat_shows_closed_with_its_note(database_url):
    async with served(database_url) as (bot, http):
        case = await bot.report("R001", "铁塔厂家属院3号楼路灯不亮了，电话13912345678")
        await bot.staff("W001", f"接单 {case.id}")
        await bot.staff("W001", f"办结 {case.id} 已更换灯泡")
        [request] = await (await http.get(f"{V2}/requests.json", params={"status": "closed"})).json()
        assert request["service_request_id"] == str(case.id)
        assert request["status"] == "closed" and request["status_notes"] == "已更换灯泡"
        assert "13912345678" not in request["description"] and "139****5678" in request["description"]
        assert await (await http.get(f"{V2}/requests.json", params={"status": "open"})).json() == []


async def test_errors_follow_the_spec_and_write_nothing(database_url):
    async with served(database_url) as (bot, http):
        key = await new_key(bot, "client")
        before = await table_counts(bot.runtime.engine)
        cases = [
            ({"service_code": "street_light", "description": "x", "address_id": "JT-TTC-01"}, 403, "api_key"),
            ({"api_key": "wrong", "service_code": "street_light", "description": "x", "address_id": "JT-TTC-01"},
             403, "api_key"),
            ({"api_key": key, "description": "x", "address_id": "JT-TTC-01"}, 400, "service_code"),
            ({"api_key": key, "service_code": "nope", "description": "x", "address_id": "JT-TTC-01"}, 404, "nope"),
            ({"api_key": key, "service_code": "street_light", "address_id": "JT-TTC-01"}, 400, "description"),
            ({"api_key": key, "service_code": "street_light", "description": "x"}, 400, "location"),
            ({"api_key": key, "service_code": "street_light", "description": "x", "lat": "abc", "long": "1"}, 400,
             "lat"),
            ({"api_key": key, "service_code": "street_light", "description": "x" * 5000, "address_id": "JT-TTC-01"},
             400, "description"),
            ({"api_key": key, "service_code": "street_light", "description": "x", "address_id": "JT-TTC-01",
              "attribute[colour]": "red"}, 400, "colour"),
            ({"api_key": key, "service_code": "street_light", "description": "x", "address_id": "JT-TTC-01",
              "phone": "<script>"}, 400, "phone"),
            ({"api_key": key, "service_code": "street_light", "description": "x", "address_id": "JT-TTC-01",
              "jurisdiction_id": "somewhere.else"}, 404, "jurisdiction_id"),
        ]
        for fields, status, named in cases:
            response = await http.post(f"{V2}/requests.json", data=fields)
            [error] = await response.json()
            assert (response.status, error.get("code")) == (status, status), (fields, error)
            assert named in error["description"], error
        flood = {f"attribute[a{i}]": "x" for i in range(10_000)}
        response = await http.post(f"{V2}/requests.json", data={"api_key": key, "service_code": "street_light",
                                                                "description": "x", "address_id": "JT-TTC-01",
                                                                **flood})
        [error] = await response.json()
        assert response.status == error["code"] and response.status in (400, 413)
        bad_date = await http.get(f"{V2}/requests.json", params={"start_date": "last tuesday"})
        assert bad_date.status == 400 and "start_date" in (await bad_date.json())[0]["description"]
        as_json = await http.post(f"{V2}/requests.json", json={"api_key": key})
        assert as_json.status == 400
        assert (await http.get(f"{V2}/requests/999999.json")).status == 404
        assert (await http.get(f"{V2}/tokens/unknown-token.json")).status == 404
        assert await table_counts(bot.runtime.engine) == before


async def test_a_flood_from_one_key_is_refused_after_its_limit(database_url):
    async with served(database_url) as (bot, http):
        key = await new_key(bot, "runaway", per_minute=5)
        statuses = []
        for n in range(8):
            response = await http.post(f"{V2}/requests.json", data={
                "api_key": key, "service_code": "street_light", "description": f"路灯坏了{n}",
                "address_id": "JT-TTC-01"})
            statuses.append(response.status)
        assert statuses == [200] * 5 + [429] * 3
        async with bot.services.sessions() as session:
            assert len((await session.scalars(select(Open311Token))).all()) == 5
            assert len((await session.scalars(select(Case.id))).all()) == 5


async def test_jurisdiction_id_of_the_district_is_accepted(database_url):
    async with served(database_url) as (bot, http):
        ok = await http.get(f"{V2}/services.json", params={"jurisdiction_id": "610302"})
        assert ok.status == 200
        other = await http.get(f"{V2}/services.json", params={"jurisdiction_id": "beijing"})
        assert other.status == 404
