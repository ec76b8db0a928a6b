"""`run.py groups`: bound groups are listed, a WeCom group's robot key is set from standard input, never shown."""

from __future__ import annotations

from sqlalchemy import select

from models import ChatGroup, GridUnit
from models.db import create_engine, session_factory
from tests.test_cli import run

KEY = "693a91f6-7a2c-4bc4-97a0-0ec2a1fa5aaa"


async def stored_extras(url: str, chat_id: str) -> dict:
    engine = create_engine(url)
    async with session_factory(engine)() as session:
        extras = await session.scalar(select(ChatGroup.extras).where(ChatGroup.chat_id == chat_id))
    await engine.dispose()
    return extras


async def test_robot_key_is_set_from_a_pasted_webhook_address_and_listed_without_it(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path}/groups.db"
    env = {"GRIDBOT_DATABASE_URL": url}
    empty = run("groups", "list", env=env)
    assert empty.returncode == 2 and "run.py seed" in empty.stderr and empty.stderr.count("\n") == 1
    assert run("seed", env=env).returncode == 0
    engine = create_engine(url)
    async with session_factory(engine).begin() as session:
        unit = await session.scalar(select(GridUnit).where(GridUnit.code == "JT-TTC-01"))
        session.add(ChatGroup(channel="wecom", chat_id="wrGROUP1", title="铁塔厂家属院企业微信群", unit_id=unit.id,
                              extras={"note": "kept"}))
    await engine.dispose()

    pasted = f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}\n"
    assert run("groups", "webhook", "wrGROUP1", stdin=pasted, env=env).returncode == 0
    assert await stored_extras(url, "wrGROUP1") == {"note": "kept", "webhook_key": KEY}
    listed = run("groups", "list", "--channel", "wecom", env=env)
    assert listed.stdout.split("\t")[:3] == ["wecom", "wrGROUP1", "JT-TTC-01"]
    assert "robot key set" in listed.stdout and KEY not in listed.stdout
    console = run("groups", "list", "--channel", "console", env=env).stdout.splitlines()
    assert len(console) == 18 and all(line.endswith("\t-") for line in console)

    assert run("groups", "webhook", "wrGROUP1", "--clear", env=env).returncode == 0
    assert await stored_extras(url, "wrGROUP1") == {"note": "kept"}


def test_a_bad_key_or_an_unbound_group_is_one_line_that_echoes_no_secret(tmp_path):
    env = {"GRIDBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/groups.db"}
    garbage = run("groups", "webhook", "wrGROUP1", stdin="secret value with spaces\n", env=env)
    assert garbage.returncode == 2 and garbage.stderr.count("\n") == 1 and "secret" not in garbage.stderr
    unbound = run("groups", "webhook", "wrNOWHERE", stdin=KEY, env=env)
    assert unbound.returncode == 2 and "wrNOWHERE" in unbound.stderr and KEY not in unbound.stderr
    assert "Traceback" not in garbage.stderr + unbound.stderr
