"""Understanding residents: the rules file and the classifier that applies it."""

from bot.understanding import compiled

compiled.install()  # before any module of the package is imported: matching loads compiled where it is current
