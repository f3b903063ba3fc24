"""The seeded fuzz run of `tests.hardening.fuzz`: only ValueError comes out (issue 16)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import convnp

ROOT = Path(__file__).resolve().parents[2]
SRC = str(Path(convnp.__file__).resolve().parents[1])


def test_byte_flips_and_truncations_end_in_value_error():
    pytest.importorskip("h5py")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, str(ROOT)]),
           "OPENBLAS_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-m", "tests.hardening.fuzz", "--seed", "16",
                             "--cases", "200"], capture_output=True, text=True, env=env,
                            cwd=ROOT, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]  # a crash (signal) is a failure too
    report = json.loads(result.stdout.strip().splitlines()[-1])
    print(json.dumps({k: v for k, v in report.items() if k != "unexpected"}))
    assert report["unexpected"] == [], report["unexpected"][:20]
    for kind, counts in report["outcomes"].items():
        assert counts.get("ValueError", 0) > 0, (kind, counts)
