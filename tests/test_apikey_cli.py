"""`run.py apikey`: keys are shown once, kept hashed, listed by prefix, revoked by name; errors are one line."""

from __future__ import annotations

from sqlalchemy import select

from models import ApiKey
from models.db import create_engine, session_factory
from tests.test_cli import run


async def test_create_list_revoke_and_one_line_errors(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path}/keys.db"
    env = {"GRIDBOT_DATABASE_URL": url}
    created = run("apikey", "create", "12345-hotline", "--per-minute", "30", env=env)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("gbk_") and len(key) > 40
    engine = create_engine(url)
    async with session_factory(engine)() as session:
        [row] = (await session.scalars(select(ApiKey))).all()
    await engine.dispose()
    assert row.key_hash != key and key not in row.key_hash and row.per_minute == 30
    listed = run("apikey", "list", env=env)
    assert "12345-hotline" in listed.stdout and key not in listed.stdout and key[:8] in listed.stdout
    twice = run("apikey", "create", "12345-hotline", env=env)
    assert twice.returncode == 2 and twice.stderr.count("\n") == 1 and "exists already" in twice.stderr
    assert "Traceback" not in twice.stderr
    no_staff = run("apikey", "create", "someone", "--staff", "NOBODY", env=env)
    assert no_staff.returncode == 2 and "NOBODY" in no_staff.stderr and "Traceback" not in no_staff.stderr
    revoked = run("apikey", "revoke", "12345-hotline", env=env)
    assert revoked.returncode == 0 and "revoked" in run("apikey", "list", env=env).stdout
    unknown = run("apikey", "revoke", "ghost", env=env)
    assert unknown.returncode == 2 and "ghost" in unknown.stderr
