"""Handlers and their registration: the Context a handler works with and the HandlerRouter that maps intents,
dialogue steps and command words to handlers (one router per feature in handlers/, composed in one place).

Two names, two jobs: the dispatcher (bot/pipeline/dispatcher.py) takes every inbound message, records it and
decides whether and to which handler it goes; a handler (handlers/) answers one message of its feature."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.pipeline.dialogue import DialogueState
from bot.pipeline.identities import Actor
from bot.pipeline.messages import Button, Inbound, Reply
from bot.understanding.classifier import Classification, Classifier, Intent

if TYPE_CHECKING:
    from bot.services import Services

# A handler says whether it handled the message: True, or False when the text is not something it can use,
# so the dispatcher may try others (and, in a group, treats the message as chatter).
Handler = Callable[["Context"], Awaitable[bool]]


@dataclass
class Context:
    """One message being handled: who sent it, where they stand, and the replies to send back."""

    inbound: Inbound
    text: str
    session: AsyncSession
    actor: Actor
    state: DialogueState
    services: Services
    now: datetime
    classifier: Classifier  # the rules as they were when the message came in, for the whole message
    replies: list[Reply] = field(default_factory=list)
    case_id: int | None = None
    _classification: Classification | None = None

    @property
    def in_group(self) -> bool:
        return self.inbound.is_group

    def classification(self) -> Classification:
        if self._classification is None:
            self._classification = self.classifier.classify(self.text)
        return self._classification

    def reply(self, text: str, *, buttons: tuple[Button, ...] = (), private: bool = False,
              alert: bool = False) -> None:
        self.replies.append(Reply(text, buttons, private, alert))

    def start(self, flow: str, step: str, **values: Any) -> None:
        ttl = timedelta(minutes=self.services.settings.conversation_ttl_minutes)
        self.state = DialogueState(flow, step, dict(values), self.now + ttl)

    def goto(self, step: str, **values: Any) -> None:
        self.state.step = step
        self.state.values.update(values)
        self.state.expires_at = self.now + timedelta(minutes=self.services.settings.conversation_ttl_minutes)

    def finish(self) -> None:
        self.state = DialogueState()


@dataclass(frozen=True, slots=True)
class StaffCommand:
    """Command words and their handler (staff commands, and the few resident commands such as 人工)."""

    pattern: re.Pattern[str]
    handler: Handler


class HandlerRouter:
    """Maps intents, conversation steps and staff command words to handlers; routers nest like aiogram's."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.intents: dict[Intent, Handler] = {}
        self.steps: dict[tuple[str, str], Handler] = {}
        self.staff_commands: list[StaffCommand] = []
        self.commands: list[StaffCommand] = []  # command words anyone may type; the handler checks who asks
        self.resident_words: list[re.Pattern[str]] = []  # words the bot tells residents to type, e.g. 我的诉求
        self.resident_commands: list[StaffCommand] = []  # resident words with their own handler, e.g. 人工
        self.overheard_handler: Handler | None = None  # a group message not addressed to the bot
        self.quote_handler: Handler | None = None  # a message quoting one of the bot's (Inbound.extras["reply_to"])

    def intent(self, *intents: Intent) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            for intent in intents:
                if intent in self.intents:
                    raise ValueError(f"intent {intent} already handled")
                self.intents[intent] = handler
            return handler
        return register

    def step(self, flow: str, *steps: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            for step in steps:
                self.steps[(flow, step)] = handler
            return handler
        return register

    def staff_command(self, pattern: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.staff_commands.append(StaffCommand(re.compile(pattern), handler))
            return handler
        return register

    def command(self, pattern: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.commands.append(StaffCommand(re.compile(pattern), handler))
            return handler
        return register

    def addressed_by(self, pattern: str) -> None:
        """Words that address the bot by form alone, in a group too (what the bot itself tells residents to type)."""
        self.resident_words.append(re.compile(pattern))

    def resident_command(self, pattern: str) -> Callable[[Handler], Handler]:
        """Resident words that address the bot and go to this handler before any classification."""
        def register(handler: Handler) -> Handler:
            self.resident_words.append(re.compile(pattern))
            self.resident_commands.append(StaffCommand(re.compile(pattern), handler))
            return handler
        return register

    def overheard(self, handler: Handler) -> Handler:
        """Registers the one handler that hears group messages nobody addressed to the bot."""
        if self.overheard_handler is not None:
            raise ValueError("overheard messages already handled")
        self.overheard_handler = handler
        return handler

    def quoted(self, handler: Handler) -> Handler:
        """Registers the one handler that hears a reply to one of the bot's messages when no dialogue is open."""
        if self.quote_handler is not None:
            raise ValueError("replies to the bot's messages already handled")
        self.quote_handler = handler
        return handler

    def include(self, *routers: HandlerRouter) -> HandlerRouter:
        for router in routers:
            if router.overheard_handler is not None:
                self.overheard(router.overheard_handler)
            if router.quote_handler is not None:
                self.quoted(router.quote_handler)
            self.resident_words.extend(router.resident_words)
            self.resident_commands.extend(router.resident_commands)
            for intent, handler in router.intents.items():
                if intent in self.intents:
                    raise ValueError(f"intent {intent} handled by two routers")
                self.intents[intent] = handler
            self.steps.update(router.steps)
            self.staff_commands.extend(router.staff_commands)
            self.commands.extend(router.commands)
        return self

    def is_resident_command(self, text: str) -> bool:
        return any(pattern.match(text) for pattern in self.resident_words)

    def resident_handler(self, text: str) -> Handler | None:
        return next((c.handler for c in self.resident_commands if c.pattern.match(text)), None)

    def staff_handler(self, text: str) -> Handler | None:
        return next((c.handler for c in self.staff_commands if c.pattern.match(text)), None)

    def command_handler(self, text: str) -> Handler | None:
        return next((c.handler for c in self.commands if c.pattern.match(text)), None)
