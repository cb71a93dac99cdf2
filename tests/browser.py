"""Headless Chromium for the tests that look at a page as a person would (Debian's `chromium`)."""
import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        if os.environ.get("ILR_REQUIRE_CHROMIUM"):
            pytest.fail("chromium is required here (ILR_REQUIRE_CHROMIUM) but not installed")
        pytest.skip("chromium not installed (Debian: apt-get install chromium)")
    return found


def _flags(profile: Path) -> list[str]:
    # the virtual time budget lets the page's scripts run (and finish) before the dump or shot
    return [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            f"--user-data-dir={profile}", "--virtual-time-budget=15000"]


def dump_dom(page: Path, profile: Path) -> str:
    """The page's DOM after its scripts ran."""
    return subprocess.run(_flags(profile) + ["--dump-dom", page.as_uri()], check=True,
                          capture_output=True, text=True, timeout=120).stdout


def screenshot(page: Path, shot: Path, profile: Path, size=(1280, 1800)) -> tuple[int, int]:
    """A PNG of the page; returns its (width, height)."""
    subprocess.run(_flags(profile) + [f"--screenshot={shot}", f"--window-size={size[0]},{size[1]}",
                                      page.as_uri()], check=True, capture_output=True, timeout=120)
    header = shot.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])
