"""Small crafted files cannot make the loaders allocate gigabytes (issue 16, defect 5).

Each case runs the loader in a child process whose address space is capped (RLIMIT_AS) at
what it had after imports plus 1 GB: the loader must refuse the file with a ValueError (the
CLI: one line, exit 2), not run into MemoryError or get killed.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tests.hardening import crafted

resource = pytest.importorskip("resource")
if sys.platform != "linux":  # pragma: no cover
    pytest.skip("RLIMIT_AS measurements need Linux", allow_module_level=True)

import convnp

SRC = Path(convnp.__file__).resolve().parents[1]  # the convnp under test
CAP = 1 << 30

CHILD = textwrap.dedent("""
    import resource, sys
    import numpy as np, h5py
    import convnp
    from convnp.io import saving, keras_format
    from convnp.datasets import load_h5
    from convnp.app import cli

    def vm_size():
        for line in open("/proc/self/status"):
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024

    limit = vm_size() + {cap}
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        {call}
    except ValueError as exc:
        print("ValueError", str(exc)[:300])
    except BaseException as exc:
        print(type(exc).__name__, str(exc)[:300])
    else:
        print("loaded")
""")


def _run(call: str) -> str:
    pytest.importorskip("h5py")
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-c", CHILD.format(cap=CAP, call=call)],
                            capture_output=True, text=True, env=env, timeout=300, check=False)
    return (result.stdout + result.stderr).strip()


@pytest.fixture
def saved(tmp_path):
    model = crafted.small_model()
    path = tmp_path / "good.convnp"
    model.save(path)
    return path


def test_npy_header_claiming_2_to_34_floats(tmp_path, saved):
    config = crafted.config_json(saved)
    with np.load(io.BytesIO(crafted.members(saved)["weights.npz"])) as npz:
        arrays = {k: npz[k] for k in npz.files}
    first = config["weights"][0]["key"]
    entries = {k: crafted.npy_with_shape(v.shape, "<f4", v.tobytes()) for k, v in arrays.items()}
    entries[first] = crafted.npy_with_shape((2**34,), "<f4", arrays[first].tobytes())
    bad = tmp_path / "bad.convnp"
    crafted.replace_members(saved, bad, weights__npz=crafted.npz(entries))
    out = _run(f"saving.load_model({str(bad)!r})")
    assert out.startswith("ValueError"), out
    assert first in out


def test_config_declaring_dense_of_a_billion_units(tmp_path, saved):
    config = crafted.config_json(saved)
    config["model"]["config"]["layers"][-1]["config"]["units"] = 10**9
    bad = tmp_path / "bad.convnp"
    crafted.replace_members(saved, bad, config__json=json.dumps(config).encode())
    out = _run(f"saving.load_model({str(bad)!r})")
    assert out.startswith("ValueError"), out


def test_zip_bomb_in_keras_weights(tmp_path):
    model = crafted.small_model()
    good = tmp_path / "good.keras"
    model.save(good)
    items = crafted.members(good)
    bad = tmp_path / "bomb.keras"
    crafted.deflate_bomb_zip(bad, "model.weights.h5", 3 << 30,
                             others=[(k, v) for k, v in items.items() if k != "model.weights.h5"])
    assert bad.stat().st_size < 8 << 20
    out = _run(f"keras_format.load_keras({str(bad)!r})")
    assert out.startswith("ValueError") and "model.weights.h5" in out, out


def test_zip_bomb_in_convnp_config(tmp_path, saved):
    items = crafted.members(saved)
    bad = tmp_path / "bomb.convnp"
    crafted.deflate_bomb_zip(bad, "config.json", 3 << 30,
                             others=[(k, v) for k, v in items.items() if k != "config.json"])
    out = _run(f"saving.load_model({str(bad)!r})")
    assert out.startswith("ValueError") and "config.json" in out, out


def test_course_h5_declaring_a_huge_unstored_dataset(tmp_path):
    path = tmp_path / "test_huge.h5"
    crafted.images_h5(path, (100_000, 64, 64, 3))  # 1.2 GB of uint8 declared, none stored
    assert path.stat().st_size < 2 << 20
    out = _run(f"load_h5({str(path)!r})")
    assert out.startswith("ValueError") and "test_set_x" in out, out


def test_cli_course_h5_with_a_label_of_a_billion(tmp_path):
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "train_x.h5"
    with h5py.File(path, "w") as f:
        f["train_set_x"] = np.zeros((6, 8, 8, 3), np.uint8)
        f["train_set_y"] = np.array([0, 1, 0, 1, 0, 10**9])
    out = _run(f"cli.main(['train', 'signs', '--data', {str(path)!r}, "
               f"'--epochs', '1', '--out', {str(tmp_path / 'out')!r}])")
    assert out.startswith("SystemExit 2") and "1000000000" in out, out
    assert len(out.splitlines()) == 2, out  # one line from the CLI, no traceback


def test_weights_file_larger_than_the_model_is_refused_before_reading(tmp_path):
    model = crafted.small_model()
    path = tmp_path / "big.weights.npz"
    np.savez(path, filler=np.zeros(2**19, np.float32))  # 2 MiB: more than weights + 1 MiB
    with pytest.raises(ValueError, match="bytes, more than"):
        model.load_weights(path)
