"""models/ never imports io/: Model.save & co. reach io through models.file_hooks."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import convnp
from convnp.models import file_hooks

SRC = Path(convnp.__file__).resolve().parent


def _imported_modules(path: Path, package: str = "convnp.models") -> set[str]:
    """Every module an ``import`` / ``from ... import`` in ``path`` names (functions too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def test_no_module_under_models_imports_io():
    offenders = {}
    for path in sorted((SRC / "models").rglob("*.py")):
        bad = sorted(n for n in _imported_modules(path)
                     if n == "convnp.io" or n.startswith(("convnp.io.", "convnp.saving")))
        if bad:
            offenders[path.name] = bad
    assert offenders == {}


def test_the_scanner_sees_imports_inside_functions(tmp_path):
    # the check above must be able to fail: function-level and relative imports are found
    fake = tmp_path / "x.py"
    fake.write_text("def f():\n    from convnp.io import saving\n"
                    "def g():\n    from ..io import onnx\n", encoding="utf-8")
    names = _imported_modules(fake)
    assert {"convnp.io", "convnp.io.saving", "convnp.io.onnx"} <= names


def test_model_save_loads_the_provider_in_a_fresh_process(tmp_path):
    # nothing imports convnp.io before model.save: the hook table loads it by name
    code = (
        "import sys\n"
        "from convnp.models import Sequential\n"
        "from convnp.layers import Dense\n"
        "from convnp.models import Input\n"
        "assert 'convnp.io.saving' not in sys.modules\n"
        "m = Sequential([Input((3,)), Dense(2)])\n"
        f"m.save({str(tmp_path / 'm.convnp')!r})\n"
        f"m.save_weights({str(tmp_path / 'w.weights.npz')!r})\n"
        f"m.load_weights({str(tmp_path / 'w.weights.npz')!r})\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=False, env={"PYTHONPATH": str(SRC.parent), "PATH": ""})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_hooks_refuse_unknown_names_and_non_callables():
    with pytest.raises(ValueError, match="unknown file hook 'nope'"):
        file_hooks.get("nope")
    with pytest.raises(ValueError, match="unknown file hook"):
        file_hooks.register("nope", print)
    with pytest.raises(TypeError, match="must be callable"):
        file_hooks.register("save_model", 3)


def test_save_goes_through_the_registered_function(tmp_path, monkeypatch):
    from convnp.layers import Dense
    from convnp.models import Input, Sequential

    seen = []
    monkeypatch.setitem(file_hooks._TABLE, "save_model",
                        lambda model, path, **kw: seen.append((model.name, str(path), kw)))
    model = Sequential([Input((2,)), Dense(1)], name="tiny")
    model.save(tmp_path / "x.convnp", overwrite=False)
    assert seen == [("tiny", str(tmp_path / "x.convnp"),
                     {"overwrite": False, "include_optimizer": True})]
    assert np.asarray(model.predict(np.zeros((1, 2)), verbose=0)).shape == (1, 1)
