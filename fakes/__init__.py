"""Fake platform servers (Telegram Bot API, WeChat and WeCom) on 127.0.0.1, shared by tests/ and bench/."""
