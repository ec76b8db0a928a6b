"""Compiles the classifier's modules with Cython when it can; pyproject.toml holds the rest.

bot/understanding/{matching,text,classifier}.py are compiled as they are (Cython's pure-Python mode, C types in
their .pxd files) into <module>.<digest><platform suffix> beside them (in place under `pip install -e .`), the
digest naming the sources: bot/understanding/compiled.py imports a binary only while they are unchanged. Without
a compiler, headers or Cython the install goes on with one line saying so, and the plain modules run.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
PACKAGE_DIR = ROOT / "bot" / "understanding"
# Loaded by path: importing the package would need its dependencies, absent from the isolated build environment.
_spec = importlib.util.spec_from_file_location("gridbot_compiled", PACKAGE_DIR / "compiled.py")
compiled = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(compiled)

DIRECTIVES = {"language_level": 3, "annotation_typing": False}  # the C types are the .pxd's, nothing else
# Floating point as Python computes it: no fused multiply-add (a*b+c rounds once), so scores are the same.
C_FLAGS = ["-ffp-contract=off"]


def say_not_compiled(error: BaseException) -> None:
    """The one line an install prints when the plain modules are all it leaves."""
    print(f"gridbot: bot/understanding/{{{','.join(compiled.COMPILED)}}}.py not compiled ({error}): they run as "
          "plain Python", file=sys.stderr)


def extensions() -> list[Extension]:
    """The compiled modules' extensions, their C sources generated; none where Cython is missing or fails."""
    try:
        from Cython.Build import cythonize

        return cythonize([Extension(f"{compiled.PACKAGE}.{name}", [f"bot/understanding/{name}.py"], optional=True,
                                    extra_compile_args=C_FLAGS) for name in compiled.COMPILED],
                         compiler_directives=DIRECTIVES, quiet=True, build_dir="build/cython")
    except Exception as error:  # an install without build isolation and without Cython, or a Cython error
        say_not_compiled(error)
        return []


class BuildCompiled(build_ext):
    """Names the binaries after their sources' digest; a failed compilation leaves the plain modules."""

    def run(self) -> None:
        if self.inplace or self.editable_mode:
            self._remove_other_binaries()
        try:
            super().run()
        except Exception as error:  # no compiler or no headers: the plain modules run
            say_not_compiled(error)

    def get_ext_filename(self, fullname: str) -> str:
        """matching.<digest><suffix> instead of matching<suffix>, which Python would import ahead of the source."""
        filename = super().get_ext_filename(fullname)
        package, _, name = fullname.rpartition(".")  # build_ext asks with the full name and with the last part
        if package not in ("", compiled.PACKAGE) or name not in compiled.COMPILED:
            return filename
        path = Path(filename)
        digest = compiled.source_digest(name, PACKAGE_DIR)
        return str(path.with_name(compiled.binary_name(name, digest, path.name[len(name):])))

    def _remove_other_binaries(self) -> None:
        """Binaries of earlier sources beside them: never loaded, and they would keep the warning coming."""
        for name in compiled.COMPILED:
            current = compiled.binary_name(name, compiled.source_digest(name, PACKAGE_DIR))
            for old in PACKAGE_DIR.glob(compiled.binary_name(name, "*")):
                if old.name != current:
                    old.unlink()


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildCompiled})
