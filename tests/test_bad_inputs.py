"""Bad input is refused before any output is touched: each case runs a stage in-process and
asserts the message (it names the file, line, key or expectation and the fix) and that every
output file is byte-for-byte what it was."""
import json
import re
from pathlib import Path

import pytest
import yaml

from ilr.arith import ArithSpec, generate_records
from ilr.io import write_jsonl

REPO = Path(__file__).resolve().parents[1]
GOLD = generate_records(ArithSpec(), n=30, seed=0, split="train")
HUMAN = [{"id": g["id"], "response": g["response"]} for g in GOLD]


def _lines(records):
    return "".join(json.dumps(r) + "\n" for r in records)


def _params(tmp_path, **sections):
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["supervise"].update(kind="file", file={"path": str(tmp_path / "human.jsonl")})
    params["feedback"].update(kind="oracle")
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(params.get(key), dict):
            params[key].update(value)
        else:
            params[key] = value
    return params


def _snapshot(folder: Path) -> dict:
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _run_refused(folder, main, argv, capsys) -> str:
    """Run a stage that must refuse; return its message, after checking nothing changed."""
    before = _snapshot(folder / "out")
    with pytest.raises((ValueError, SystemExit)) as caught:
        main(argv)
    assert _snapshot(folder / "out") == before, "a refused run changed an output"
    return str(caught.value) + capsys.readouterr().err


def _setup(tmp_path, *, params=None, human=None, params_text=None):
    (tmp_path / "out").mkdir()
    for name in ("r0.jsonl", "r0.json", "quality.json", "r1.jsonl", "audit.jsonl", "r1.json",
                 "r1.quality.json"):
        (tmp_path / "out" / name).write_text(f"previous {name}\n")
    write_jsonl(tmp_path / "gold.jsonl", GOLD)
    (tmp_path / "human.jsonl").write_text(_lines(HUMAN) if human is None else human)
    (tmp_path / "params.yaml").write_text(params_text if params_text is not None
                                          else yaml.safe_dump(params or _params(tmp_path)))
    labels = [{**g, "source": "test"} for g in GOLD]
    write_jsonl(tmp_path / "labels.jsonl", labels)
    write_jsonl(tmp_path / "proposals.jsonl", [{"id": g["id"], "proposal": g["response"]} for g in GOLD])


def _supervise(tmp_path, capsys, gold="gold.jsonl"):
    from stages.supervise import main

    out = tmp_path / "out"
    return _run_refused(tmp_path, main, [
        "--params", str(tmp_path / "params.yaml"), "--gold", str(tmp_path / gold),
        "--out", str(out / "r0.jsonl"), "--metrics", str(out / "r0.json"),
        "--quality", str(out / "quality.json")], capsys)


def _refine(tmp_path, capsys, *, labels="labels.jsonl", proposals="proposals.jsonl", round_name="r1"):
    from stages.refine import main

    out = tmp_path / "out"
    return _run_refused(tmp_path, main, [
        "--params", str(tmp_path / "params.yaml"), "--round", round_name,
        "--labels", str(tmp_path / labels), "--proposals", str(tmp_path / proposals),
        "--gold", str(tmp_path / "gold.jsonl"), "--out", str(out / "r1.jsonl"),
        "--audit", str(out / "audit.jsonl"), "--metrics", str(out / "r1.json"),
        "--quality", str(out / "r1.quality.json")], capsys)


ID0, ID5 = GOLD[0]["id"], GOLD[5]["id"]

HUMAN_FILES = {  # a user's demonstrations file (supervise.kind: file)
    "malformed json": (_lines(HUMAN[:1]) + '{"id": "x", "response": \n', r"human.jsonl:2: malformed JSON"),
    "not an object": (_lines(HUMAN[:1]) + "[1, 2]\n", r"human.jsonl:2: expected a JSON object"),
    "missing field": (_lines(HUMAN[:2]) + json.dumps({"id": ID5}) + "\n",
                      r"human.jsonl:3: missing field\(s\) \['response'\]"),
    "empty file": ("\n", r"human.jsonl: empty file"),
    "duplicated row": (_lines(HUMAN + [HUMAN[5]]),
                       rf"expect_column_values_to_be_unique\(id\).*{ID5}"),
    "deleted row": (_lines(HUMAN[:5] + HUMAN[6:]), rf"missing {ID5}"),
    "unknown id": (_lines(HUMAN + [{"id": "nobody", "response": "#### 1"}]),
                   r"not among the gold training prompts.*nobody"),
    "numeric id": (_lines(HUMAN + [{"id": 7, "response": "#### 1"}]),
                   r"not among the gold training prompts"),
    "other prompt": (_lines([{**HUMAN[0], "prompt": "What is 2 + 2?"}] + HUMAN[1:]), r"prompt differs"),
    "blank response": (_lines([{**HUMAN[0], "response": "   "}] + HUMAN[1:]), r"non-empty string"),
}


@pytest.mark.parametrize("case", HUMAN_FILES)
def test_bad_label_files_are_refused(tmp_path, capsys, case):
    content, message = HUMAN_FILES[case]
    _setup(tmp_path, human=content)
    assert re.search(message, _supervise(tmp_path, capsys))


def test_missing_label_file_is_refused(tmp_path, capsys):
    _setup(tmp_path)
    (tmp_path / "human.jsonl").unlink()
    assert "human.jsonl: file not found" in _supervise(tmp_path, capsys)


def test_duplicate_gold_ids_name_the_line(tmp_path, capsys):
    _setup(tmp_path)
    write_jsonl(tmp_path / "bad_gold.jsonl", GOLD + [GOLD[2]])
    assert "bad_gold.jsonl:31: duplicate id" in _supervise(tmp_path, capsys, gold="bad_gold.jsonl")


PARAMS = {  # params refused before any work, each naming the key and what is allowed
    "unknown key": ({"refine": {"alpah": 0.1}}, r"unknown key\(s\) \['refine.alpah'\]"),
    "alpha zero": ({"refine": {"alpha": 0}}, r"refine.alpha: must be in \(0, 1\]"),
    "alpha above one": ({"refine": {"alpha": 1.5}}, r"refine.alpha: must be in \(0, 1\]"),
    "alpha as text": ({"refine": {"alpha": "15%"}}, r"refine.alpha: expected float"),
    "unknown scope": ({"refine": {"alpha_scope": "all"}}, r"refine.alpha_scope: 'all' is not allowed"),
    "round from nowhere": ({"rounds": {"r1": {"prev": "r7"}}}, r"rounds.r1.prev: 'r7' is neither"),
    "rounds in a loop": ({"rounds": {"r1": {"prev": "r2"}, "r2": {"prev": "r1"}}}, r"form a loop"),
    "unknown round mode": ({"rounds": {"r1": {"mode": "greedy"}}}, r"rounds.r1.mode: 'greedy' is not allowed"),
    "unknown feedback": ({"feedback": {"kind": "gpt"}}, r"feedback.kind: 'gpt' is not allowed; choose one of"),
    "unknown supervisor": ({"supervise": {"kind": "crowd"}}, r"supervise.kind: 'crowd' is not allowed"),
    "unknown task": ({"task": {"name": "mnist"}}, r"task.name: 'mnist' is not allowed"),
    "flip rate above one": ({"feedback": {"oracle": {"flip_rate": 1.2}}},
                            r"feedback.oracle.flip_rate: must be a probability in \[0, 1\]"),
    "negative sizes": ({"task": {"n_train": -5}}, r"task.n_train: must be > 0"),
    "seed as text": ({"seed": "zero"}, r"seed: expected int"),
    "parseable share above one": ({"quality": {"min_parseable": 2}}, r"quality.min_parseable: must be a probability"),
}


@pytest.mark.parametrize("case", PARAMS)
def test_bad_params_are_refused_before_any_work(tmp_path, capsys, case):
    sections, message = PARAMS[case]
    _setup(tmp_path)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(_params(tmp_path, **sections)))
    assert re.search(message, _supervise(tmp_path, capsys))


def test_params_that_are_not_yaml(tmp_path, capsys):
    _setup(tmp_path, params_text="refine: {alpha: [\n")
    assert "params.yaml: not valid YAML" in _supervise(tmp_path, capsys)


def test_kind_file_without_a_path(tmp_path, capsys):
    _setup(tmp_path, params=_params(tmp_path, supervise={"file": {"path": None}}))
    assert "set supervise.file.path" in _supervise(tmp_path, capsys)


def test_refine_needs_a_proposal_for_every_label(tmp_path, capsys):
    _setup(tmp_path)
    write_jsonl(tmp_path / "some.jsonl", [{"id": g["id"], "proposal": g["response"]} for g in GOLD[:20]])
    assert "10 label(s) have no proposal" in _refine(tmp_path, capsys, proposals="some.jsonl")


def test_refine_proposals_need_their_field(tmp_path, capsys):
    _setup(tmp_path)
    write_jsonl(tmp_path / "bad.jsonl", [{"id": g["id"], "answer": "1"} for g in GOLD])
    assert "bad.jsonl:1: missing field(s) ['proposal']" in _refine(tmp_path, capsys, proposals="bad.jsonl")


def test_refine_of_an_unknown_round(tmp_path, capsys):
    _setup(tmp_path)
    assert "--round r9: not in" in _refine(tmp_path, capsys, round_name="r9")


def test_refine_of_a_label_file_that_lost_a_row(tmp_path, capsys):
    """The previous version lost a row: the gate on the new version names the missing id."""
    _setup(tmp_path)
    write_jsonl(tmp_path / "short.jsonl", [{**g, "source": "test"} for g in GOLD if g["id"] != ID0])
    message = _refine(tmp_path, capsys, labels="short.jsonl")
    assert "expect_table_row_count_to_equal(table): observed 29" in message and f"missing {ID0}" in message
