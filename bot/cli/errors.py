"""The one exception commands raise for an expected failure."""


class CommandError(Exception):
    """An expected failure of a command: printed as one line `gridbot: <message>`, exit status 2."""
