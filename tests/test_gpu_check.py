"""bench/gpu_check.sh needs a GPU to run; its --dry-run does everything up to `dvc repro` on a
CPU: the temporary copy, the params (vLLM backend, dtype auto), git, and the stage list."""
import os
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def run_check(*args, tmp_path):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "PYTHON": sys.executable, "DVC_NO_ANALYTICS": "1"}
    return subprocess.run(["bash", str(REPO / "bench/gpu_check.sh"), *args], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=300)


def test_dry_run_sets_up_the_vllm_repro_of_the_default(tmp_path):
    keep = tmp_path / "copy"
    result = run_check("--dry-run", "--keep", str(keep), tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "generation.backend vllm, model.dtype auto, 120 prompts, 200 test problems" in result.stdout
    stages = [line.strip() for line in result.stdout.splitlines() if line.startswith("  ")]
    assert stages[0] == "base_model" and stages[-1] == "report"
    assert {"supervisor", "evaluate@base", "propose@r0", "dpo_pairs@d1", "round_kl@r1"} <= set(stages)
    params = yaml.safe_load((keep / "params.yaml").read_text())
    assert params["generation"] == {"backend": "vllm"} and params["model"]["dtype"] == "auto"
    assert not (keep / "dvc.lock").exists()  # a fresh run, not the committed lock
    assert "bench/generate.py --model models/base" in result.stdout


def test_a_profile_sets_the_sizes_and_a_bad_argument_is_refused(tmp_path):
    result = run_check("--dry-run", "--profile", str(REPO / "profiles/quick.yaml"),
                       tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "8 prompts, 6 test problems, rounds ['r1', 'r2', 'n1']" in result.stdout
    bad = run_check("--fast", tmp_path=tmp_path)
    assert bad.returncode == 2 and "unknown argument --fast" in bad.stderr


def test_stage_times_from_dvc_output():
    import io

    sys.path.insert(0, str(REPO / "bench"))
    from stage_times import main

    ticks = iter(range(0, 100, 5))  # each line 5 s after the one before
    lines = ["Running stage 'prepare':\n", "> python -m stages.prepare\n",
             "Updating lock file 'dvc.lock'\n", "\n", "Running stage 'supervisor':\n",
             "> python -m stages.supervisor\n"]  # stopped by the budget: no lock update
    out = io.StringIO()
    times = main(lines, out, clock=lambda: next(ticks))
    assert times == [("prepare", 10), ("supervisor", 10)]
    assert out.getvalue().startswith("[    5.0s] Running stage 'prepare':")
    assert "     35.0  total" in out.getvalue()
