"""Every module of convnp imports (so pytest can collect its docstring examples) when the
optional packages are absent: they are imported inside the functions that need them."""

from __future__ import annotations

import os
import subprocess
import sys

import convnp

OPTIONAL = ("torch", "tensorflow", "h5py", "onnx", "onnxruntime", "matplotlib", "PIL",
            "pandas", "threadpoolctl")

_PROGRAM = """
import importlib, pkgutil, sys

class Absent:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked)", name=name)
        return None

sys.meta_path.insert(0, Absent())
import convnp
failed = []
for info in pkgutil.walk_packages(convnp.__path__, "convnp."):
    if info.name.startswith("convnp.bench.worker_") or info.name.endswith("__main__"):
        continue  # scripts: other interpreters run the workers; __main__ runs the command
    try:
        importlib.import_module(info.name)
    except Exception as exc:
        failed.append(f"{info.name}: {type(exc).__name__}: {exc}")
print("\\n".join(failed) if failed else "ok")
"""


def _run(blocked) -> tuple[int, str]:
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(convnp.__file__)))
    program = f"BLOCKED = {tuple(blocked)!r}\n" + _PROGRAM
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          check=False, env=env, timeout=600)
    return done.returncode, (done.stdout + done.stderr).strip()


def test_every_module_imports_without_the_optional_packages():
    assert _run(OPTIONAL) == (0, "ok")


def test_the_blocker_blocks():
    # numpy is not optional: blocking it must make the imports fail, or the test above proves
    # nothing
    assert _run(("numpy",)) != (0, "ok")
