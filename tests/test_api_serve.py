"""Open311 and the JSON API against a real `run.py serve`, and Schemathesis against the OpenAPI document."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import ClientSession

ROOT = Path(__file__).resolve().parents[1]
SCHEMATHESIS_CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
                       "response_schema_conformance,negative_data_rejection")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def gridbot(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, str(ROOT / "run.py"), *args], env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture
def service(database_url: str) -> Iterator[tuple[str, dict[str, str]]]:
    """A `run.py serve` process on a free port, up once it logs that it serves; stopped after the test."""
    port = free_port()
    env = {**os.environ, "GRIDBOT_DATABASE_URL": database_url.replace("+asyncpg", ""), "GRIDBOT_PORT": str(port),
           "GRIDBOT_LOG_LEVEL": "INFO"}
    gridbot(env, "migrate")
    process = subprocess.Popen([sys.executable, str(ROOT / "run.py"), "serve"], env=env, cwd=ROOT,
                               stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    for line in process.stderr:  # blocks until the service says it listens, or exits
        if "serving on" in line:
            break
    else:
        pytest.fail(f"serve exited with {process.wait()}")
    log: list[str] = []  # keep reading its log, or a full pipe would stall the service
    drain = threading.Thread(target=lambda: log.extend(process.stderr or ()), daemon=True)
    drain.start()
    try:
        yield f"http://127.0.0.1:{port}", env
    finally:
        process.terminate()
        process.wait(timeout=30)


async def test_open311_round_trip_and_schemathesis_against_a_running_service(service):
    base, env = service
    key = gridbot(env, "apikey", "create", "open311-client", "--per-minute", "100000")
    async with ClientSession() as http:
        created = await (await http.post(f"{base}/open311/v2/requests.json", data={
            "api_key": key, "service_code": "street_light", "description": "路灯坏了",
            "address_string": "铁塔厂家属院3号楼"})).json()
        token, case_id = created[0]["token"], created[0]["service_request_id"]
        [by_token] = await (await http.get(f"{base}/open311/v2/tokens/{token}.json")).json()
        assert by_token["service_request_id"] == case_id
        [request] = await (await http.get(f"{base}/open311/v2/requests/{case_id}.json")).json()
        assert request["status"] == "open" and request["address_id"] == "JT-TTC-01-B03"
        page = await (await http.get(f"{base}/api/v1/cases", headers={"Authorization": f"Bearer {key}"})).json()
        assert [item["id"] for item in page["items"]] == [int(case_id)]
    checked = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "schemathesis"), "run", f"{base}/api/v1/openapi.json",
        "--header", f"Authorization: Bearer {key}", "--checks", SCHEMATHESIS_CHECKS, "--max-examples", "10",
        "--seed", "20261202", "--no-color", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    report, _ = await checked.communicate()
    assert checked.returncode == 0, report.decode()[-4000:]
