"""The classifier's compiled modules, each used only while it was built from the sources beside it.

setup.py compiles matching.py, text.py and classifier.py as they are (Cython in pure-Python mode, with the C
types of their .pxd files) into <module>.<digest><platform suffix>, the digest naming the two files each was
built from. That name is no module name to Python's own import, so nothing loads a binary but the finder here:
the package installs it, and it imports a module's binary only when the module's files as they are now have
that digest. An edited module therefore runs as plain Python until the next `pip install -e .` (one warning
says so), and so does every checkout where nothing was compiled. GRIDBOT_PURE_PYTHON=1 (read at import; not a
setting) always runs the plain modules. The modules do not reach into each other's C types, so any mix works.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import logging
import os
import sys
from importlib.machinery import ModuleSpec
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACKAGE = "bot.understanding"
COMPILED = ("matching", "text", "classifier")  # the modules setup.py compiles, each with a .pxd beside it
PURE_PYTHON = "GRIDBOT_PURE_PYTHON"  # set to 1: import the plain modules even where binaries are current
EXTENSION_SUFFIX = importlib.machinery.EXTENSION_SUFFIXES[0]  # .cpython-311-x86_64-linux-gnu.so

log = logging.getLogger(__name__)


def source_digest(name: str, folder: Path = HERE) -> str:
    """The hash of a compiled module's sources (its .py and .pxd) that its binary's name carries."""
    digest = hashlib.sha256()
    for suffix in (".py", ".pxd"):
        digest.update((folder / f"{name}{suffix}").read_bytes())
    return digest.hexdigest()[:16]


def binary_name(name: str, digest: str, suffix: str = EXTENSION_SUFFIX) -> str:
    """The file name of a module's binary built from sources with that digest."""
    return f"{name}.{digest}{suffix}"


def current_binary(name: str, folder: Path = HERE) -> Path | None:
    """The binary built from the module's sources as they are now; None when there is none or plain Python is
    asked for (a binary of other sources is left alone, with one warning)."""
    if os.environ.get(PURE_PYTHON, "") not in ("", "0"):
        return None
    binary = folder / binary_name(name, source_digest(name, folder))
    if binary.is_file():
        return binary
    if any(folder.glob(binary_name(name, "*"))):
        log.warning("%s/%s.py was edited after it was compiled: it runs as plain Python until `pip install -e .` "
                    "compiles it again", folder, name)
    return None


class CompiledModules:
    """Finds the current binaries of COMPILED modules; for any other module, or without one, the plain module
    is imported as usual."""

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> ModuleSpec | None:
        package, _, name = fullname.rpartition(".")
        if package != PACKAGE or name not in COMPILED:
            return None
        binary = current_binary(name)
        return importlib.util.spec_from_file_location(fullname, binary) if binary is not None else None


def running() -> dict[str, bool]:
    """Each compiled module of the package (imported here if it was not) and whether it runs from its binary."""
    modules = {name: importlib.import_module(f"{PACKAGE}.{name}") for name in COMPILED}
    return {name: isinstance(module.__spec__.loader, importlib.machinery.ExtensionFileLoader)
            for name, module in modules.items()}


def install() -> None:
    """Puts the finder ahead of Python's own, once."""
    if not any(isinstance(finder, CompiledModules) for finder in sys.meta_path):
        sys.meta_path.insert(0, CompiledModules())
