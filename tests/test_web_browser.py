"""The web app in a real browser (Debian's Chromium, headless, driven by Playwright) against a running `serve`.

Screenshots of every page go to tests/artifacts/browser/<backend>/ (ignored by git) for people to look at.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from models import Case, Outbox, Resident, Staff
from models.db import create_engine, session_factory
from tests.harness import Harness

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(__file__).resolve().parent / "artifacts" / "browser"
HAVE_CHROMIUM = Path(CHROMIUM).exists()
SCRIPT = "<script>window.__pwned = 1</script>"
PHONE = re.compile(r"1[3-9]\d{9}")


@dataclass
class Served:
    url: str
    database_url: str
    cases: dict[str, int]
    shots: Path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def _wait_healthy(url: str, process: asyncio.subprocess.Process, log: Path) -> None:
    """Waits for the service process to answer its health check (it migrates and loads the grid first)."""
    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            if process.returncode is not None:
                raise RuntimeError(f"serve exited with {process.returncode}: {await asyncio.to_thread(log.read_text)}")
            try:
                async with http.get(f"{url}/healthz", timeout=aiohttp.ClientTimeout(total=2)) as answer:
                    if answer.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)  # a separate process is starting: nothing to inject a clock into
    raise RuntimeError("serve did not become healthy")


@pytest.fixture
async def served(database_url: str, db_backend: str, tmp_path: Path) -> AsyncIterator[Served]:
    if not HAVE_CHROMIUM:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs it")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    harness = await Harness.start(database_url)
    cases = {"lamp": (await harness.report("R001", "1号楼楼道灯坏了不亮")).id,
             "script": (await harness.report("R001", f"7号楼下水道堵了 {SCRIPT}")).id,
             "other": (await harness.report("R005", "4号楼电梯坏了"))}
    cases["other"] = cases["other"].id
    worker = (await harness.case(cases["script"])).assignee.code  # resolved, so the public pages show it too
    await harness.staff(worker, f"接单 {cases['script']}")
    await harness.staff(worker, f"办结 {cases['script']} 已疏通")
    await harness.close()
    port = _free_port()
    env = {**os.environ, "GRIDBOT_DATABASE_URL": database_url, "GRIDBOT_HOST": "127.0.0.1",
           "GRIDBOT_PORT": str(port), "GRIDBOT_WEB_SECRET": "browser-test-secret-" + "x" * 20,
           "GRIDBOT_SCHEDULER_IN_SERVE": "false", "GRIDBOT_PHOTO_DIR": str(tmp_path / "photos"),
           "GRIDBOT_WEB_PUBLIC_CACHE_SECONDS": "0"}
    env.pop("GRIDBOT_CONFIG", None)
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:  # a file, not a pipe: a chatty service never blocks on a full pipe
        process = await asyncio.create_subprocess_exec(sys.executable, "run.py", "serve", cwd=ROOT, env=env,
                                                       stdout=sink, stderr=sink)
    url = f"http://127.0.0.1:{port}"
    try:
        await _wait_healthy(url, process, log)
        shots = ARTIFACTS / db_backend
        shots.mkdir(parents=True, exist_ok=True)
        yield Served(url, database_url, cases, shots)
    finally:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), timeout=10)
        except TimeoutError:
            process.kill()
            await process.wait()


async def _rows(database_url: str, query):
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            return list((await session.execute(query)).all())
    finally:
        await engine.dispose()


async def _login(page, served: Served, code: str) -> None:
    """Asks for a link on the login page, takes it from the staff member's chat (the outbox), confirms it."""
    await page.goto(f"{served.url}/staff/login")
    await page.screenshot(path=served.shots / "login.png", full_page=True)
    await page.fill("form[action='/staff/login/link'] input[name=code]", code)
    await page.click("text=发送登录链接")
    await page.wait_for_selector("text=登录链接已发送")
    sent = await _rows(served.database_url, select(Outbox.text).where(Outbox.recipient == f"staff:{code}")
                       .order_by(Outbox.id.desc()).limit(1))
    link = re.search(r"https?://\S+", sent[0].text).group(0)
    await page.goto(link)
    await page.screenshot(path=served.shots / "login-confirm.png", full_page=True)
    await page.click("#confirm-login")
    await page.wait_for_url(f"{served.url}/staff/")


async def test_staff_work_a_case_in_the_browser(served: Served) -> None:
    from playwright.async_api import async_playwright

    assignee = (await _rows(served.database_url, select(Staff.code).join(Case, Case.assignee_id == Staff.id)
                            .where(Case.id == served.cases["lamp"])))[0].code
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = await browser.new_page(viewport={"width": 390, "height": 844})  # a grid worker's phone
            dialogs: list[str] = []
            page.on("dialog", lambda dialog: dialogs.append(dialog.message))
            await _login(page, served, assignee)
            await page.screenshot(path=served.shots / "cases.png", full_page=True)
            await page.fill("input[name=q]", "楼道灯")
            await page.click("#apply-filters")
            await page.wait_for_url(re.compile(r".*q=.*"))
            links = await page.locator("a.case-link").all_inner_texts()
            assert links == [f"#{served.cases['lamp']}"]
            await page.screenshot(path=served.shots / "cases-filtered.png", full_page=True)
            await page.click(f"text=#{served.cases['lamp']}")
            await page.click("form[data-action=accept] button")
            await page.wait_for_selector("#case-status:has-text('已接单')")
            await page.fill("form[data-action=resolve] input[name=note]", "已更换灯泡")
            await page.click("form[data-action=resolve] button")
            await page.wait_for_selector("#case-status:has-text('已办结')")
            assert "已更换灯泡" in await page.inner_text("#timeline")
            await page.screenshot(path=served.shots / "case-resolved.png", full_page=True)
            await page.fill("form[data-action=remark] input[name=text]", "回访时居民不在家")
            await page.click("form[data-action=remark] button")
            await page.wait_for_selector("#timeline:has-text('内部备注')")
            await page.select_option("form[data-action=remark] select[name=kind]", "message")
            await page.fill("form[data-action=remark] input[name=text]", "灯已换好，有问题随时联系")
            await page.click("form[data-action=remark] button")
            await page.wait_for_selector("#timeline:has-text('工作人员留言')")
            reporter = (await _rows(served.database_url, select(Case.reporter_id).where(
                Case.id == served.cases["lamp"])))[0].reporter_id
            notices = await _rows(served.database_url, select(Outbox.text).where(
                Outbox.recipient == f"resident:{reporter}", Outbox.case_id == served.cases["lamp"]))
            assert any("已办结：已更换灯泡" in n.text for n in notices)
            assert any("灯已换好" in n.text for n in notices) and not any("居民不在家" in n.text for n in notices)
            # Another grid's case, typed into the address bar: not found, nothing of it shown.
            response = await page.goto(f"{served.url}/staff/cases/{served.cases['other']}")
            assert response.status == 404 and "电梯" not in await page.inner_text("main")
            await page.screenshot(path=served.shots / "other-grid-404.png", full_page=True)
            response = await page.goto(f"{served.url}/staff/cases/{served.cases['script']}")
            assert response.status == 200 and SCRIPT in await page.inner_text("#case-text")
            for name in ["stats", "triage", "rules?text=小区路灯坏了"]:
                assert (await page.goto(f"{served.url}/staff/{name}")).status == 200
                await page.screenshot(path=served.shots / f"{name.split('?')[0]}.png", full_page=True)
            assert dialogs == [] and await page.evaluate("window.__pwned") is None
        finally:
            await browser.close()


async def test_public_pages_in_the_browser_show_nothing_personal(served: Served) -> None:
    from playwright.async_api import async_playwright

    residents = await _rows(served.database_url, select(Resident.display_name, Resident.phone))
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = await browser.new_page()
            response = await page.goto(served.url + "/")
            assert response.ok and page.url == f"{served.url}/public/"
            for path in ["/public/", "/public/JT", "/public/JT-TTC", "/public/QN-SBH"]:
                assert (await page.goto(served.url + path)).ok
                text = await page.inner_text("body")
                assert not PHONE.search(text), path
                assert not any(r.display_name in text for r in residents), path
                await page.screenshot(path=served.shots / f"public{path.replace('/', '-').rstrip('-')}.png",
                                      full_page=True)
            await page.goto(served.url + "/public/JT-TTC")
            assert "<script>" in await page.inner_text("body")  # shown as text, never run
            assert await page.evaluate("window.__pwned") is None
        finally:
            await browser.close()
