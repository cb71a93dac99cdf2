"""The user's files: fixed paths under inputs/, passed on the command line by dvc.yaml and
declared as deps of exactly the stages that read them (inputs/README.md)."""
import json
import re
from pathlib import Path

import pytest
import yaml

from ilr.core.errors import run_stage
from ilr.core.params import Gsm8kParams, TaskParams
from ilr.core.profiles import apply_profile, load_profile
from ilr.tasks.prepare import check_local_source

REPO = Path(__file__).resolve().parents[1]
STAGES = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
# the stages that read a user file, the option that names it and the file (${key}: the round)
READERS = {"prepare": ("--gsm8k-dir", "inputs/gsm8k"),
           "supervise": ("--label-file", "inputs/labels.jsonl"),
           "feedback": ("--judgments", "inputs/judgments/feedback.jsonl"),
           "refine": ("--judgments", "inputs/judgments/${key}.jsonl"),
           "dpo_pairs": ("--judgments", "inputs/judgments/${key}.jsonl")}


@pytest.mark.parametrize("name", sorted(STAGES))
def test_user_files_are_passed_and_declared_by_exactly_their_readers(name):
    if name == "seed_run":  # it runs every stage in a copy: every user file is its dep
        assert "inputs" in STAGES[name]["do"]["deps"]
        return
    body = STAGES[name].get("do", STAGES[name])
    passed = re.findall(r"(--[\w-]+) (inputs/\S*)", body["cmd"])
    declared = [d for d in body["deps"] if isinstance(d, str) and d.startswith("inputs")]
    assert passed == ([READERS[name]] if name in READERS else [])
    assert declared == [path for _, path in passed]


def _rounds(params: dict) -> set[str]:
    return set(params.get("rounds") or {}) | set(params.get("dpo_rounds") or {})


def test_every_committed_round_has_its_judgments_file():
    """params.yaml's rounds and every profile's: a round without its file stops `dvc repro`."""
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    names = {"feedback"} | _rounds(params)
    for profile in (REPO / "profiles").glob("*.yaml"):
        names |= _rounds(apply_profile(params, load_profile(profile)))
    missing = sorted(n for n in names if not (REPO / f"inputs/judgments/{n}.jsonl").is_file())
    assert not missing, f"touch inputs/judgments/<name>.jsonl for {missing}"
    assert (REPO / "inputs/labels.jsonl").is_file() and (REPO / "inputs/gsm8k").is_dir()


def test_a_local_gsm8k_source_must_be_in_the_tracked_folder(tmp_path):
    folder = tmp_path / "inputs/gsm8k"
    (folder / "copy").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    gsm8k = TaskParams(name="gsm8k", gsm8k=Gsm8kParams(source=str(tmp_path / "elsewhere")))
    with pytest.raises(ValueError) as caught:
        check_local_source(gsm8k, str(folder))
    assert str(caught.value) == (
        f"task.gsm8k.source: '{tmp_path}/elsewhere' is a local path outside {folder}, the folder "
        f"DVC tracks for stage prepare; copy it there (cp -r {tmp_path}/elsewhere/. {folder}/) "
        f"and set task.gsm8k.source: {folder}")
    for inside in (folder, folder / "copy"):  # the folder itself or a folder in it
        check_local_source(TaskParams(name="gsm8k", gsm8k=Gsm8kParams(source=str(inside))), str(folder))
    check_local_source(TaskParams(name="gsm8k"), str(folder))  # a hub id
    check_local_source(TaskParams(name="arith", gsm8k=gsm8k.gsm8k), str(folder))  # not read


def _prepare(tmp_path, source, capsys=None):
    from stages.prepare import main

    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["task"].update(name="gsm8k", n_train=4, n_test=2, n_supervisor=4)
    params["task"]["gsm8k"]["source"] = source
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    out = tmp_path / "out"
    argv = ["--params", str(tmp_path / "params.yaml"), "--gsm8k-dir", str(tmp_path / "inputs/gsm8k"),
            "--train", str(out / "train.jsonl"), "--test", str(out / "test.jsonl"),
            "--supervisor", str(out / "supervisor.jsonl"), "--quality", str(out / "quality.json")]
    if capsys is None:
        return run_stage(main, argv)
    with pytest.raises(SystemExit):
        run_stage(main, argv)
    return capsys.readouterr().err.strip()


def test_prepare_reads_gsm8k_from_inputs_and_refuses_a_copy_elsewhere(tmp_path, capsys):
    rows = [{"question": f"What is {i} + 1?", "answer": f"{i} + 1 = {i + 1}\n#### {i + 1}"}
            for i in range(10)]
    for folder in ("inputs/gsm8k", "elsewhere"):
        (tmp_path / folder).mkdir(parents=True)
        for split in ("train", "test"):
            (tmp_path / folder / f"{split}.jsonl").write_text(
                "".join(json.dumps(r) + "\n" for r in rows))
    _prepare(tmp_path, str(tmp_path / "inputs/gsm8k"))
    assert len((tmp_path / "out/train.jsonl").read_text().splitlines()) == 4
    line = _prepare(tmp_path, str(tmp_path / "elsewhere"), capsys)
    assert line.startswith("prepare: error: task.gsm8k.source: ") and "\n" not in line
    assert f"copy it there (cp -r {tmp_path}/elsewhere/. {tmp_path}/inputs/gsm8k/)" in line
