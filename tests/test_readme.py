"""The README's commands run as written: every `ilr` line parses against the CLI (and the
read-only ones run on the committed run's files, which a clone has in git), every `dvc` line
names a real subcommand with real options, and every link points at a file of the repo."""
import re
import shlex
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from ilr.cli import main

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()
READ_ONLY = {"audit", "history", "diff", "summary"}  # they print; the others write or train


def bash_lines() -> list[list[str]]:
    """Each command of the README's ```bash blocks, as words (comments dropped)."""
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", README, re.S):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            if words:
                lines.append(words)
    return lines


COMMANDS = bash_lines()
ILR = [w[1:] for w in COMMANDS if w[0] == "ilr"]
DVC = [w[1:] for w in COMMANDS if w[0] == "dvc"]


def test_the_readme_is_a_front_door():
    assert 150 <= len(README.splitlines()) <= 250
    assert len(ILR) >= 8 and len(DVC) >= 6  # the daily commands are there


@pytest.mark.parametrize("args", ILR, ids=[" ".join(a) for a in ILR])
def test_each_ilr_command_parses(args):
    ctx = main.make_context("ilr", list(args), resilient_parsing=False)
    name, command, rest = main.resolve_command(ctx, ctx.protected_args + ctx.args)
    while isinstance(command, click.Group):  # ilr judge export ...
        sub = command.make_context(name, rest, parent=ctx)
        name, command, rest = command.resolve_command(sub, sub.protected_args + sub.args)
    command.make_context(name, rest, parent=ctx)  # raises on an unknown option or argument


@pytest.mark.parametrize("args", [a for a in ILR if a[0] in READ_ONLY and "--rev-a" not in a],
                         ids=lambda a: " ".join(a))
def test_each_read_only_ilr_command_runs_on_the_committed_run(args, monkeypatch):
    monkeypatch.chdir(REPO)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert result.output.strip()


@pytest.mark.parametrize("args", sorted({tuple(a[:2]) if a[0] in ("exp", "metrics", "params",
                                                                     "plots", "remote", "cache")
                                         else (a[0],) for a in DVC}), ids=" ".join)
def test_each_dvc_subcommand_exists(args):
    result = subprocess.run([str(Path(sys.executable).parent / "dvc"), *args, "--help"], cwd=REPO, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr


def test_links_point_at_files():
    for page in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if target.startswith(("http://", "https://")):
                continue
            assert (page.parent / target).exists(), f"{page.name}: {target}"
