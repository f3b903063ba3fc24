"""The live page in a real browser: `convnp train --dashboard`, headless Chromium, the DOM.

CI installs Debian's chromium; elsewhere the test skips when no Chromium is found. The
screenshot is kept in ``test-artifacts/dashboard.png`` at the repository root.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BROWSER_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--virtual-time-budget=5000"]


def _browser() -> str:
    for name in ("chromium", "chromium-headless-shell", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI"):
        pytest.fail("CI must install Debian's chromium for the dashboard browser test")
    pytest.skip("no chromium or chromium-headless-shell on this machine")


def _read_until(proc: subprocess.Popen, pattern: str, lines: list[str], timeout: float) -> str:
    """Read the process's stdout lines until one matches ``pattern``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 1.0)
        if ready:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if re.search(pattern, line):
                return line
        elif proc.poll() is not None:
            break
    raise AssertionError(f"no line matching {pattern!r}; output so far: {lines}; "
                         f"stderr: {proc.stderr.read() if proc.poll() is not None else ''}")


def _chromium(browser: str, profile: Path, *args: str) -> str:
    result = subprocess.run([browser, *BROWSER_FLAGS, f"--user-data-dir={profile}", *args],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_live_page_shows_the_run_in_chromium(tmp_path):
    browser = _browser()
    pytest.importorskip("matplotlib")
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "convnp", "train", "happy", "--epochs", "2", "--dashboard",
         "--verbose", "0", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    lines: list[str] = []
    try:
        first = _read_until(proc, r"^dashboard: http://127\.0\.0\.1:\d+/$", lines, 60)
        url = first.split()[1]
        _read_until(proc, "the page stays up", lines, 600)
        dom = _chromium(browser, tmp_path / "profile", "--dump-dom", url)
        assert 'data-epochs="2"' in dom
        assert re.search(r'id="loss-chart"[^>]*data-points="2"', dom)
        assert re.search(r'id="metric-chart"[^>]*data-points="2"', dom)
        assert re.search(r'id="filters"[^>]*data-loaded="1"', dom) or \
            re.search(r'data-loaded="1"[^>]*id="filters"', dom)
        artifacts = ROOT / "test-artifacts"
        artifacts.mkdir(exist_ok=True)
        shot = artifacts / "dashboard.png"
        _chromium(browser, tmp_path / "profile", "--window-size=1100,820",
                  f"--screenshot={shot}", url)
        assert shot.stat().st_size > 10_000
        assert (out / "dashboard" / "filters.png").is_file()
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    with proc.stdout, proc.stderr:  # read to the end, then closed (no unclosed pipes)
        rest, errors = proc.stdout.read(), proc.stderr.read()
    assert proc.returncode == 0, errors
    assert "stopped serving" in rest
