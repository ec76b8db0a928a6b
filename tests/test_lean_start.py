"""What start-up loads lean must say the same: pypinyin's phrase readings, and the migrations' head."""

from __future__ import annotations

import json
from pathlib import Path

import pypinyin.constants
from alembic.script import ScriptDirectory
from pypinyin import load_phrases_dict

from bot.understanding.classifier import Classifier
from bot.understanding.pinyin import PHRASES_FILE, Style, lazy_pinyin, load_phrases_within, phrase_table
from bot.understanding.rules import load_rules
from bot.understanding.text import normalize
from models.db import alembic_config, head_revisions

ROOT = Path(__file__).resolve().parents[1]


def test_the_lean_phrase_table_has_pypinyins_readings_for_every_phrase():
    with open(PHRASES_FILE, encoding="utf-8") as file:
        stock = json.load(file)
    lean = phrase_table(PHRASES_FILE)
    assert lean.keys() == stock.keys()
    assert all([list(readings) for readings in lean[phrase]] == stock[phrase] for phrase in stock)


def test_phrases_decide_the_reading_of_a_character_that_has_several():
    load_phrases_within(["银行行长", "重庆"])
    assert lazy_pinyin("银行行长", style=Style.NORMAL) == ["yin", "hang", "hang", "zhang"]
    assert lazy_pinyin("重庆", style=Style.NORMAL) == ["chong", "qing"]


def test_the_phrases_inside_the_keywords_read_them_as_the_whole_table_does():
    rules = load_rules(ROOT / "config" / "rules.yaml")
    Classifier(rules)  # loads the phrases inside its keywords
    assert 0 < len(pypinyin.constants.PHRASES_DICT) < 47_000 / 10  # a few thousand of the table's phrases
    keywords = sorted({normalize(keyword.word) for rule in [*rules.categories, *rules.intents.values()]
                       for keyword in rule.keywords} - {""})
    lean = [lazy_pinyin(word, style=Style.TONE) for word in keywords]
    load_phrases_dict(phrase_table(PHRASES_FILE))  # the whole table, as pypinyin would load it itself
    assert [lazy_pinyin(word, style=Style.TONE) for word in keywords] == lean


def test_the_heads_read_from_the_version_files_are_alembics():
    assert head_revisions() == set(ScriptDirectory.from_config(alembic_config()).get_heads())
