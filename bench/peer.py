"""The platform's side of a benchmark in a process of its own: fake API servers and the simulated people.

The service under test keeps a core to itself, as it would beside the real Telegram or WeChat servers, instead
of sharing one with the fake server and the HTTP clients that drive it. The two sides talk in plain dicts over a
multiprocessing pipe: the service's side asks (`await peer.ask("load", ...)`), the peer runs the named
coroutine on its own event loop and answers with what it returns.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import traceback
from collections.abc import Awaitable, Callable
from multiprocessing.connection import Connection
from typing import Any

import uvloop

Commands = dict[str, Callable[..., Awaitable[dict[str, Any]]]]


class Peer:
    """A child process running `commands` (built by `make_commands`, a module-level function) on request."""

    def __init__(self, make_commands: Callable[[], Commands]) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipe, child_end = context.Pipe()
        self._process = context.Process(target=_serve, args=(make_commands, child_end), daemon=True)

    async def __aenter__(self) -> Peer:
        self._process.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._process.is_alive():
            self._pipe.send(("stop", {}))
            await asyncio.to_thread(self._process.join, 30)
        if self._process.is_alive():
            self._process.kill()

    async def ask(self, command: str, **arguments: Any) -> dict[str, Any]:
        """Runs one command in the peer and returns its answer; the caller's loop keeps running meanwhile."""
        self._pipe.send((command, arguments))
        ok, answer = await asyncio.to_thread(self._pipe.recv)
        if not ok:
            raise RuntimeError(f"peer command {command!r} failed:\n{answer}")
        return answer


def _serve(make_commands: Callable[[], Commands], pipe: Connection) -> None:
    async def loop() -> None:
        commands = make_commands()
        while True:
            command, arguments = await asyncio.to_thread(pipe.recv)
            if command == "stop":
                if "stop" in commands:
                    await commands["stop"]()
                return
            try:
                pipe.send((True, await commands[command](**arguments)))
            except Exception:  # the service's side raises it with the peer's traceback
                pipe.send((False, traceback.format_exc()))

    uvloop.run(loop())
