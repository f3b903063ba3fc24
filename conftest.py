"""pytest settings for the whole repository (tests/conftest.py holds the test fixtures).

pytest also collects src/convnp for its docstring examples (--doctest-modules). A module kept
only as an old import path *is* another module (it puts that module in ``sys.modules`` under
its own name); it has no examples of its own, and importing it from its file would give one
module two file names, so it is not collected.
"""

from pathlib import Path

_ALIAS = "sys.modules[__name__] ="


def pytest_ignore_collect(collection_path: Path, config):
    if collection_path.suffix == ".py" and "src" in collection_path.parts:
        try:
            text = collection_path.read_text(encoding="utf-8")
        except OSError:
            return None
        if _ALIAS in text:
            return True
    return None
