"""What start-up loads lean must say the same: pypinyin's phrase readings, and the migrations' head."""

from __future__ import annotations

import json

from alembic.script import ScriptDirectory

from bot.understanding.pinyin import PHRASES_FILE, Style, lazy_pinyin, phrase_table
from models.db import alembic_config, head_revisions


def test_the_lean_phrase_table_has_pypinyins_readings_for_every_phrase():
    with open(PHRASES_FILE, encoding="utf-8") as file:
        stock = json.load(file)
    lean = phrase_table(PHRASES_FILE)
    assert lean.keys() == stock.keys()
    assert all([list(readings) for readings in lean[phrase]] == stock[phrase] for phrase in stock)


def test_phrases_decide_the_reading_of_a_character_that_has_several():
    assert lazy_pinyin("银行行长", style=Style.NORMAL) == ["yin", "hang", "hang", "zhang"]
    assert lazy_pinyin("重庆", style=Style.NORMAL) == ["chong", "qing"]


def test_the_heads_read_from_the_version_files_are_alembics():
    assert head_revisions() == set(ScriptDirectory.from_config(alembic_config()).get_heads())
