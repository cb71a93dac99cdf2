"""The GitHub Actions workflow: actionlint finds nothing in it (with shellcheck on its `run:`
scripts), the tests job runs the README's test command as written, and the gpu-repro job is
the self-hosted GPU job whose steps are .ci/gpu-repro.sh (which test_remote runs)."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pytest's own dependency
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((REPO / ".github/workflows").glob("*.yml"))
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    found = shutil.which(name, path=f"{BIN}:{os.environ.get('PATH', '')}")
    if not found:
        pytest.fail(f"{name} not found: it comes with the test extra (pip install -e '.[test]')")
    return found


def _actionlint(*files, cwd=REPO):
    return subprocess.run([_tool("actionlint"), "-no-color", "-oneline",
                           f"-config-file={REPO / '.github/actionlint.yaml'}",
                           f"-shellcheck={_tool('shellcheck')}", *map(str, files)],
                          cwd=cwd, capture_output=True, text=True, timeout=60)


def _jobs() -> dict:
    return yaml.safe_load((REPO / ".github/workflows/ci.yml").read_text())["jobs"]


def test_actionlint_finds_nothing():
    assert WORKFLOWS
    result = _actionlint(*WORKFLOWS)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_actionlint_reports_a_planted_mistake(tmp_path):
    """The lint is not vacuous: an unknown runner label, an unquoted variable (shellcheck) and a
    pull request's title pasted into a script are each reported."""
    bad = tmp_path / "bad.yml"
    bad.write_text("on: pull_request\njobs:\n  a:\n    runs-on: [self-hosted, gpu2]\n    steps:\n"
                   "      - run: echo $foo ${{ github.event.pull_request.title }}\n")
    out = _actionlint(bad, cwd=tmp_path).stdout
    assert '"gpu2" is unknown' in out and "SC2086" in out and "potentially untrusted" in out
    bad.write_text(bad.read_text().replace("gpu2", "gpu"))  # our runner label is declared
    assert '"gpu" is unknown' not in _actionlint(bad, cwd=tmp_path).stdout


def test_scripts_pass_shellcheck():
    scripts = [REPO / ".ci/run", REPO / ".ci/gpu-repro.sh"]
    result = subprocess.run([_tool("shellcheck"), "-e", "SC1091", *map(str, scripts)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout


def test_tests_job_runs_the_readme_test_command():
    readme = (REPO / "README.md").read_text()
    command = re.search(r"# 2\. install and run the tests.*\n(.+)\n", readme).group(1)
    job = _jobs()["tests"]
    assert job["runs-on"] == "ubuntu-latest"
    assert command in [step.get("run") for step in job["steps"]]


def test_gpu_repro_job_is_the_script_on_a_self_hosted_gpu_runner():
    job = _jobs()["gpu-repro"]
    assert set(job["runs-on"]) == {"self-hosted", "gpu"}
    assert job["concurrency"]["group"] and job["timeout-minutes"] <= 180
    checkout, install, repro = job["steps"]
    assert checkout["uses"].startswith("actions/checkout@") and checkout["with"]["fetch-depth"] == 0
    assert "'.[gpu]'" in install["run"]
    assert repro["run"].endswith(".ci/gpu-repro.sh")
    assert (REPO / ".ci/gpu-repro.sh").stat().st_mode & 0o111  # executable in git too
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert "gpu" in extras and any(dep.startswith("vllm") for dep in extras["gpu"])
