"""Crash safety: SIGKILL a stage in the middle of writing its output, rerun it, and get the
same files as a run that was never interrupted."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from ilr.core.io import write_jsonl
from ilr.tasks.arith import ArithSpec, generate_records

REPO = Path(__file__).resolve().parents[1]
N = 5_000  # enough records that writing the labels takes tens of milliseconds


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    root = tmp_path_factory.mktemp("crash")
    write_jsonl(root / "gold.jsonl", generate_records(ArithSpec(), n=N, seed=0, split="train"))
    for seed in (0, 1):
        params = yaml.safe_load((REPO / "params.yaml").read_text())
        params["seed"], params["seeds"] = seed, []  # one seed each (seeds must leave out seed)
        params["supervise"]["kind"] = "noise"
        (root / f"params{seed}.yaml").write_text(yaml.safe_dump(params))
    return root


def _command(root, out, seed):
    return [sys.executable, "-m", "stages.supervise", "--params", str(root / f"params{seed}.yaml"),
            "--gold", str(root / "gold.jsonl"), "--out", str(out / "r0.jsonl"),
            "--metrics", str(out / "r0.json"), "--quality", str(out / "quality.json")]


def _env():
    return {**os.environ, "GX_ANALYTICS_ENABLED": "false", "PYTHONPATH": str(REPO)}


def _complete(root, out, seed):
    subprocess.run(_command(root, out, seed), cwd=REPO, env=_env(), check=True, capture_output=True)
    return {name: (out / name).read_bytes() for name in ("r0.jsonl", "r0.json", "quality.json")}


def _kill_mid_write(root, out, seed, timeout=300):
    """Start the stage, SIGKILL it once its temporary labels file has data in it; returns the
    bytes written by then, or None if the write finished before it was seen."""
    proc = subprocess.Popen(_command(root, out, seed), cwd=REPO, env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        partial = [p for p in out.glob(".r0.jsonl.*.tmp/r0.jsonl") if p.stat().st_size > 0]
        if partial:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return partial[0].stat().st_size
        time.sleep(0.0005)
    proc.kill()
    proc.wait()
    return None


def test_sigkill_mid_write_leaves_the_previous_output_and_a_rerun_matches_a_clean_run(work):
    clean = _complete(work, work / "clean", seed=0)

    out = work / "killed"
    for attempt in range(5):  # a write can finish between two looks; try again then
        previous = _complete(work, out, seed=1)  # an earlier version of the outputs
        if _kill_mid_write(work, out, seed=0):
            break
    else:
        pytest.fail("never caught the stage mid-write")
    assert list(out.glob(".r0.jsonl.*.tmp/r0.jsonl"))  # it was killed with a partial file
    assert (out / "r0.jsonl").read_bytes() == previous["r0.jsonl"]  # never half a file
    assert _complete(work, out, seed=0) == clean

    for attempt in range(5):
        fresh = work / f"fresh{attempt}"
        if _kill_mid_write(work, fresh, seed=0):
            break
    else:
        pytest.fail("never caught the stage mid-write")
    assert not (fresh / "r0.jsonl").exists()  # no previous version: none at all
    assert _complete(work, fresh, seed=0) == clean
