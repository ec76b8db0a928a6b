"""Staff log-in on the web: one-time links sent to their own chat, passwords, sessions, CSRF and rate limits."""

from __future__ import annotations

from sqlalchemy import select

from models import LoginToken, WebAudit, WebSession
from tests.conftest import table_counts
from tests.web_rig import LINK, WebRig


async def test_login_by_link_from_chat_and_page(database_url: str) -> None:
    rig = await WebRig.start(database_url)
    try:
        answer = await rig.harness.staff("W001", "登录")
        assert "/staff/login/" in answer and "一次" in answer
        chat_path = LINK.search(answer).group(1)
        assert (await rig.client.get("/staff/", allow_redirects=False)).status == 302
        # Opening the link (as a chat app's preview does) spends nothing; the confirmation POST does.
        assert (await rig.client.get(chat_path)).status == 200
        assert (await rig.redeem(chat_path)).status == 302
        page = await (await rig.client.get("/staff/")).text()
        assert "W001" in page and "退出" in page
        rig.client.session.cookie_jar.clear()
        assert (await rig.redeem(chat_path)).status == 400  # a link works once
        path = await rig.request_link("S001")
        assert path is not None
        response = await rig.redeem(path)
        assert response.status == 302
        assert "S001" in await (await rig.client.get("/staff/")).text()
        async with rig.harness.services.sessions() as session:
            actions = (await session.scalars(select(WebAudit.action).where(WebAudit.channel == "web"))).all()
        assert actions.count("login") == 2
    finally:
        await rig.close()


async def test_unknown_code_and_expired_link_sign_in_nobody(database_url: str) -> None:
    rig = await WebRig.start(database_url)
    try:
        assert await rig.request_link("NOBODY") is None
        path = await rig.request_link("W002")
        rig.harness.clock.advance(minutes=16)
        response = await rig.redeem(path)
        assert response.status == 400 and "过期" in await response.text()
        assert (await rig.client.get("/staff/", allow_redirects=False)).status == 302
        forged = await rig.redeem("/staff/login/not-a-real-token")
        assert forged.status == 400
    finally:
        await rig.close()


async def test_forms_without_csrf_are_refused_and_write_nothing(database_url: str, engine) -> None:
    rig = await WebRig.start(database_url)
    try:
        await rig.csrf()
        before = await table_counts(engine)
        response = await rig.client.post("/staff/login/link", data={"code": "W001"})
        assert response.status == 403
        response = await rig.client.post("/staff/login/link", data={"code": "W001", "_csrf": "forged"})
        assert response.status == 403
        assert await table_counts(engine) == before
        await rig.login("W001")
        case = await rig.harness.report("R001", "3号楼门口路灯坏了")
        before = await table_counts(engine)
        response = await rig.client.post(f"/staff/cases/{case.id}/act", data={"action": "accept"})
        assert response.status == 403
        assert await table_counts(engine) == before
    finally:
        await rig.close()


async def test_login_attempts_are_rate_limited(database_url: str) -> None:
    rig = await WebRig.start(database_url)
    try:
        csrf = await rig.csrf()
        statuses = [(await rig.client.post("/staff/login/password", data={
            "_csrf": csrf, "code": "W001", "password": f"guess-{n}"})).status for n in range(12)]
        assert statuses[:10] == [400] * 10 and statuses[10:] == [429, 429]
        rig.harness.clock.advance(minutes=11)
        response = await rig.client.post("/staff/login/password", data={"_csrf": csrf, "code": "W001",
                                                                        "password": "again"})
        assert response.status == 400
    finally:
        await rig.close()


async def test_password_login_and_logout_everywhere(database_url: str) -> None:
    rig = await WebRig.start(database_url)
    try:
        await rig.login("S001")
        short = await rig.post_form("/staff/password", {"password": "short", "again": "short"}, page="/staff/password")
        assert short.status == 400
        response = await rig.post_form("/staff/password", {"password": "长城-2026-secret", "again": "长城-2026-secret"},
                                       page="/staff/password")
        assert response.status == 302
        first_cookies = rig.client.session.cookie_jar.filter_cookies(rig.client.make_url("/staff/"))
        rig.client.session.cookie_jar.clear()
        csrf = await rig.csrf()
        wrong = await rig.client.post("/staff/login/password", data={"_csrf": csrf, "code": "S001", "password": "x" * 12})
        assert wrong.status == 400
        right = await rig.client.post("/staff/login/password", data={
            "_csrf": csrf, "code": "S001", "password": "长城-2026-secret"}, allow_redirects=False)
        assert right.status == 302
        # Log out everywhere from the second browser: the first browser's cookie stops working too.
        assert (await rig.post_form("/staff/logout/all", {})).status == 302
        rig.client.session.cookie_jar.update_cookies(first_cookies)
        assert (await rig.client.get("/staff/", allow_redirects=False)).status == 302
        async with rig.harness.services.sessions() as session:
            sessions = (await session.scalars(select(WebSession))).all()
            tokens = (await session.scalars(select(LoginToken))).all()
        assert sessions and all(s.revoked_at is not None for s in sessions)
        assert all(len(t.token_hash) == 64 for t in tokens)  # only hashes are kept
    finally:
        await rig.close()


async def test_session_cookie_is_secure_httponly_samesite(database_url: str) -> None:
    rig = await WebRig.start(database_url, web_cookie_secure=True)
    try:
        response = await rig.client.get("/staff/login")
        cookie = response.cookies["gridbot_session"]
        assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "Lax"
        assert response.headers["X-Frame-Options"] == "DENY" and "script-src 'self'" in response.headers[
            "Content-Security-Policy"]
    finally:
        await rig.close()
