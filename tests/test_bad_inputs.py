"""Bad input is refused before any output is touched: each case runs a stage in-process the way
its ``__main__`` does (``ilr.core.errors.run_stage``) and asserts the one line it prints on stderr
(it names the file, line, key or expectation and the fix), a non-zero exit, no traceback, and
that every output file is byte-for-byte what it was."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ilr.core.errors import run_stage
from ilr.core.io import write_jsonl
from ilr.tasks.arith import ArithSpec, generate_records

REPO = Path(__file__).resolve().parents[1]
GOLD = generate_records(ArithSpec(), n=30, seed=0, split="train")
HUMAN = [{"id": g["id"], "response": g["response"]} for g in GOLD]


def _lines(records):
    return "".join(json.dumps(r) + "\n" for r in records)


def _params(tmp_path, **sections):
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["supervise"].update(kind="file")
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
    """Run a stage that must refuse: one line on stderr, no traceback, a non-zero exit and
    every output (and no temporary file) as it was; returns the line."""
    before = _snapshot(folder / "out")
    capsys.readouterr()
    with pytest.raises(SystemExit) as caught:
        run_stage(main, argv)
    err = capsys.readouterr().err
    assert caught.value.code in (1, 2)
    assert _snapshot(folder / "out") == before, "a refused run changed an output"
    assert {p.name for p in (folder / "out").iterdir()} == {p.parts[0] for p in before}  # no temp
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _setup(tmp_path, *, params=None, human=None, params_text=None):
    (tmp_path / "out").mkdir()
    (tmp_path / "inputs/judgments").mkdir(parents=True)
    for name in ("r0.jsonl", "r0.json", "quality.json", "r1.jsonl", "audit.jsonl", "r1.json",
                 "r1.quality.json"):
        (tmp_path / "out" / name).write_text(f"previous {name}\n")
    write_jsonl(tmp_path / "gold.jsonl", GOLD)
    (tmp_path / "inputs/labels.jsonl").write_text(_lines(HUMAN) if human is None else human)
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
        "--label-file", str(tmp_path / "inputs/labels.jsonl"), "--out", str(out / "r0.jsonl"), "--metrics", str(out / "r0.json"),
        "--quality", str(out / "quality.json")], capsys)


def _refine(tmp_path, capsys, *, labels="labels.jsonl", proposals="proposals.jsonl", round_name="r1"):
    from stages.refine import main

    out = tmp_path / "out"
    return _run_refused(tmp_path, main, [
        "--params", str(tmp_path / "params.yaml"), "--round", round_name,
        "--labels", str(tmp_path / labels), "--proposals", str(tmp_path / proposals),
        "--gold", str(tmp_path / "gold.jsonl"), "--judgments", str(tmp_path / "inputs/judgments/r1.jsonl"),
        "--out", str(out / "r1.jsonl"), "--audit", str(out / "audit.jsonl"),
        "--metrics", str(out / "r1.json"), "--quality", str(out / "r1.quality.json")], capsys)


ID0, ID5 = GOLD[0]["id"], GOLD[5]["id"]

HUMAN_FILES = {  # a user's demonstrations file (supervise.kind: file)
    "malformed json": (_lines(HUMAN[:1]) + '{"id": "x", "response": \n', r"inputs/labels.jsonl:2: malformed JSON"),
    "not an object": (_lines(HUMAN[:1]) + "[1, 2]\n", r"inputs/labels.jsonl:2: expected a JSON object"),
    "missing field": (_lines(HUMAN[:2]) + json.dumps({"id": ID5}) + "\n",
                      r"inputs/labels.jsonl:3: missing field\(s\) \['response'\]"),
    "empty file": ("\n", r"inputs/labels.jsonl: empty file"),
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
    (tmp_path / "inputs/labels.jsonl").unlink()
    assert "inputs/labels.jsonl: file not found" in _supervise(tmp_path, capsys)


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
    "final-answer share above one": ({"quality": {"min_has_final_answer": 2}},
                                     r"quality.min_has_final_answer: must be a probability"),
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


@pytest.mark.parametrize("section,fixed", [
    ("supervise", "the demonstrations are read from inputs/labels.jsonl"),
    ("feedback", "the judgments are read from inputs/judgments/<stage>.jsonl (feedback.jsonl for "
                 "stage feedback, <round>.jsonl for refine@<round> and dpo_pairs@<round>)")])
def test_a_params_file_that_still_names_a_file_path(tmp_path, capsys, section, fixed):
    """The paths of the user's files are fixed (inputs/README.md): the removed key is named
    with the path that replaces it, not reported as merely unknown."""
    _setup(tmp_path, params=_params(tmp_path, **{section: {"file": {"path": "mine.jsonl"}}}))
    assert _supervise(tmp_path, capsys) == (
        f"supervise: error: {tmp_path / 'params.yaml'}: {section}.file: removed; {fixed}, a fixed "
        f"path that DVC tracks (inputs/README.md): put the file there and delete {section}.file")


def test_kind_file_without_a_label_file_argument(tmp_path, capsys):
    from stages.supervise import main

    _setup(tmp_path)
    assert "supervise.kind is 'file' but no --label-file was given" in _run_refused(tmp_path, main, [
        "--params", str(tmp_path / "params.yaml"), "--gold", str(tmp_path / "gold.jsonl"),
        "--out", str(tmp_path / "out/r0.jsonl"), "--metrics", str(tmp_path / "out/r0.json"),
        "--quality", str(tmp_path / "out/quality.json")], capsys)


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


ODD_HUMAN_FILES = {  # odd bytes and types in a user's demonstrations file
    "null response": (_lines([{**HUMAN[0], "response": None}] + HUMAN[1:]),
                      rf"inputs/labels.jsonl:1: id '{ID0}': response must be a string, got null"),
    "numeric response": (_lines(HUMAN[:5] + [{**HUMAN[5], "response": 42}] + HUMAN[6:]),
                         rf"inputs/labels.jsonl:6: id '{ID5}': response must be a string, got number \(42\)"),
    "list response": (_lines([{**HUMAN[0], "response": ["#### 4"]}] + HUMAN[1:]),
                      r"inputs/labels.jsonl:1: id .*: response must be a string, got list"),
    "key written twice": ('{"id": "%s", "response": "#### 1", "response": "#### 2"}\n' % ID0
                          + _lines(HUMAN[1:]), r"inputs/labels.jsonl:1: key\(s\) \['response'\] appear twice"),
    "latin-1 bytes": (None, r"inputs/labels.jsonl:2: not UTF-8 text \(byte 0xe9"),
    "decimal comma answer": (_lines([{**HUMAN[0], "response": "So she pays #### 1,5"}] + HUMAN[1:]),
                             rf"inputs/labels.jsonl:1: id '{ID0}': the final answer '1,5': a comma before 1 digit"),
    "superscript answer": (_lines([{**HUMAN[0], "response": "#### 10\u00b2"}] + HUMAN[1:]),
                           r"inputs/labels.jsonl:1: .*superscript or circled digits are not read"),
}


@pytest.mark.parametrize("case", ODD_HUMAN_FILES)
def test_odd_label_files_are_refused_on_one_line(tmp_path, capsys, case):
    content, message = ODD_HUMAN_FILES[case]
    _setup(tmp_path, human=content or "")
    if content is None:
        latin1 = '{"id": "x", "response": "caf\u00e9"}\n'.encode("latin-1")
        (tmp_path / "inputs/labels.jsonl").write_bytes(_lines(HUMAN[:1]).encode() + latin1)
    assert re.search(message, _supervise(tmp_path, capsys))


def test_a_bom_crlf_label_file_with_typographic_numbers_is_read_right(tmp_path, capsys):
    """Valid but odd: a byte-order mark, CRLF line ends, a Unicode minus and a narrow no-break
    space in the answers; the labels come out as written, graded as gold."""
    from stages.supervise import main

    odd = [{**h, "response": h["response"].replace("#### ", "#### \u2212") if i == 0 else h["response"]}
           for i, h in enumerate(HUMAN)]
    _setup(tmp_path)
    (tmp_path / "inputs/labels.jsonl").write_bytes(b"\xef\xbb\xbf" + _lines(odd).replace("\n", "\r\n").encode())
    out = tmp_path / "out"
    run_stage(main, ["--params", str(tmp_path / "params.yaml"), "--gold", str(tmp_path / "gold.jsonl"),
                     "--label-file", str(tmp_path / "inputs/labels.jsonl"), "--out", str(out / "r0.jsonl"), "--metrics", str(out / "r0.json"),
                     "--quality", str(out / "quality.json")])
    metrics = json.loads((out / "r0.json").read_text())
    assert metrics["n"] == 30 and metrics["label_accuracy"] == 29 / 30  # only the negated one is wrong
    assert json.loads((out / "r0.jsonl").read_text().splitlines()[0])["response"] == odd[0]["response"]


PARAMS_TEXT = {  # params files refused as a whole
    "section written twice": ("refine: {alpha: 0.1}\nseed: 0\nrefine: {alpha_scope: compared}\n",
                              r"params.yaml:3: key 'refine' is written twice in one mapping \(first on line 1\)"),
    "key written twice inside a section": ("refine:\n  alpha: 0.1\n  alpha: 0.3\n",
                                           r"params.yaml:3: key 'alpha' is written twice"),
    "empty file": ("", r"params.yaml: the params file is empty"),
    "only comments": ("# refine: {alpha: 0.1}\n", r"params.yaml: the params file is empty"),
    "alpha not a number": ("refine: {alpha: .nan}\n", r"refine.alpha: must be in \(0, 1\]"),
}


@pytest.mark.parametrize("case", PARAMS_TEXT)
def test_params_files_refused_whole(tmp_path, capsys, case):
    text, message = PARAMS_TEXT[case]
    _setup(tmp_path, params_text=text)
    assert re.search(message, _supervise(tmp_path, capsys))


def test_a_missing_params_file(tmp_path, capsys):
    _setup(tmp_path)
    (tmp_path / "params.yaml").unlink()
    assert "params.yaml: params file not found" in _supervise(tmp_path, capsys)


PROPOSALS = {  # refine's inputs with wrong field types
    "null proposal": ("proposals", {"proposal": None},
                      rf"proposals.jsonl:6: id '{ID5}': proposal must be a string, got null"),
    "numeric proposal": ("proposals", {"proposal": 7},
                         r"proposals.jsonl:6: id .*: proposal must be a string, got number \(7\)"),
    "list proposal": ("proposals", {"proposal": ["#### 7"]},
                      r"proposals.jsonl:6: .*proposal must be a string, got list"),
    "null label": ("labels", {"response": None}, rf"labels.jsonl:6: id '{ID5}': response must be a string, got null"),
    "object prompt": ("labels", {"prompt": {"text": "q"}}, r"labels.jsonl:6: .*prompt must be a string, got object"),
}


@pytest.mark.parametrize("case", PROPOSALS)
def test_refine_inputs_with_wrong_types_name_file_line_and_id(tmp_path, capsys, case):
    which, change, message = PROPOSALS[case]
    _setup(tmp_path)
    path = tmp_path / f"{which}.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines()]
    records[5].update(change)
    write_jsonl(tmp_path / "bad.jsonl", records)
    (tmp_path / "bad.jsonl").rename(path)
    assert re.search(message, _refine(tmp_path, capsys))


def _judged(tmp_path, judgments, *, compared=(ID0, ID5)):
    """A refine setup whose proposals differ from the labels for ``compared`` ids, with
    ``feedback.kind: file`` reading ``judgments`` (a list of records, or raw text)."""
    path = tmp_path / "inputs/judgments/r1.jsonl"
    _setup(tmp_path, params=_params(tmp_path, feedback={"kind": "file"}))
    write_jsonl(tmp_path / "proposals.jsonl", [
        {"id": g["id"], "proposal": "#### 99999" if g["id"] in compared else g["response"]} for g in GOLD])
    path.write_text(judgments if isinstance(judgments, str) else _lines(judgments))


JUDGMENTS = {  # human judgments (feedback.kind: file) for a round that compares ID0 and ID5
    "negative seconds": ([{"id": ID0, "choice": "label", "seconds": -4}, {"id": ID5, "choice": "label", "seconds": 2}],
                         rf"inputs/judgments/r1.jsonl:1: id '{ID0}': seconds must be a number >= 0 .*got -4"),
    "seconds as text": ([{"id": ID0, "choice": "label", "seconds": "4s"}, {"id": ID5, "choice": "label", "seconds": 2}],
                        r"inputs/judgments/r1.jsonl:1: .*seconds must be a number >= 0 .*got '4s'"),
    "seconds missing": ([{"id": ID0, "choice": "label", "seconds": 3}, {"id": ID5, "choice": "label"}],
                        r"inputs/judgments/r1.jsonl:2: missing field\(s\) \['seconds'\]"),
    "unknown choice": ([{"id": ID0, "choice": "B", "seconds": 3}, {"id": ID5, "choice": "label", "seconds": 2}],
                       rf"inputs/judgments/r1.jsonl:1: id '{ID0}': choice must be one of \['proposal', 'label'\], got 'B'"),
    "a judgment never asked": ([{"id": i, "choice": "label", "seconds": 1} for i in (ID0, ID5, GOLD[7]["id"])],
                               rf"1 judgment\(s\) for items not compared here, e.g. \['{GOLD[7]['id']}'\]"),
    "a judgment missing": ([{"id": ID0, "choice": "proposal", "seconds": 1}],
                           rf"no judgment for 1 compared item\(s\), e.g. \['{ID5}'\]"),
    "missing and extra": ([{"id": ID0, "choice": "label", "seconds": 1},
                           {"id": GOLD[7]["id"], "choice": "label", "seconds": 1}],
                          r"no judgment for 1 compared item\(s\).*; 1 judgment\(s\) for items not compared here"),
    "an id twice": ([{"id": ID0, "choice": "label", "seconds": 1}, {"id": ID5, "choice": "label", "seconds": 1},
                     {"id": ID0, "choice": "proposal", "seconds": 1}],
                    rf"inputs/judgments/r1.jsonl:3: id '{ID0}': judged twice \(first on line 1\)"),
    "not a gold id": ([{"id": "nobody", "choice": "label", "seconds": 1}],
                      r"not among the gold training prompts.*nobody"),
    "the file is missing": (None, r"inputs/judgments/r1.jsonl: file not found"),
    "the placeholder left empty": ("", r"inputs/judgments/r1.jsonl: no judgment for 2 compared item\(s\)"),
}


@pytest.mark.parametrize("case", JUDGMENTS)
def test_bad_judgment_files_are_refused(tmp_path, capsys, case):
    judgments, message = JUDGMENTS[case]
    _judged(tmp_path, judgments if judgments is not None else [])
    if judgments is None:
        (tmp_path / "inputs/judgments/r1.jsonl").unlink()
    assert re.search(message, _refine(tmp_path, capsys))


def test_good_judgments_decide_the_round(tmp_path, capsys):
    from stages.refine import main

    _judged(tmp_path, [{"id": ID0, "choice": "proposal", "seconds": 3.5}, {"id": ID5, "choice": "label", "seconds": 0}])
    out = tmp_path / "out"
    run_stage(main, ["--params", str(tmp_path / "params.yaml"), "--round", "r1",
                     "--labels", str(tmp_path / "labels.jsonl"), "--proposals", str(tmp_path / "proposals.jsonl"),
                     "--gold", str(tmp_path / "gold.jsonl"), "--judgments", str(tmp_path / "inputs/judgments/r1.jsonl"),
                     "--out", str(out / "r1.jsonl"),
                     "--audit", str(out / "audit.jsonl"), "--metrics", str(out / "r1.json"),
                     "--quality", str(out / "r1.quality.json")])
    audit = {a["id"]: a for a in map(json.loads, (out / "audit.jsonl").read_text().splitlines())}
    assert audit[ID0]["accepted"] and not audit[ID5]["accepted"]


@pytest.mark.parametrize("judgments,message", [
    ('{"id": "%s", "choice": \n' % ID0, r"inputs/judgments/r1.jsonl:1: malformed JSON"),
    (_lines([{"id": ID0, "choice": "label", "seconds": 1}]), r"1 judgment\(s\) for items not compared here"),
])
def test_the_judgment_file_is_read_when_a_round_compares_nothing(tmp_path, capsys, judgments, message):
    _judged(tmp_path, judgments, compared=())
    assert re.search(message, _refine(tmp_path, capsys))


MODEL_BASES = {  # model.base values that cannot load, through the base_model stage
    "folder without config.json": ("nocfg", r"model.base: '.*nocfg': the folder lacks config.json "
                                            r"\(it holds \['tokenizer.model'\]\); "
                                            r"set model.base to 'embedded:smollm2-135m-instruct'"),
    "a hub id while offline": ("HuggingFaceTB/NoSuchModel-135M",
                               r"model.base: 'HuggingFaceTB/NoSuchModel-135M': not a local folder, and the hub cannot "
                               r"give it \(HF_HUB_OFFLINE is set\).*set model.base to 'embedded"),
    "a path that does not exist": ("./models/nowhere/at/all",
                                   r"model.base: '\./models/nowhere/at/all': no such folder, and not a hub id"),
    "a file": ("gold.jsonl", r"model.base: '.*gold.jsonl': is a file, not a model folder"),
}


@pytest.mark.parametrize("case", MODEL_BASES)
def test_bad_model_bases_name_the_key_and_the_fix(tmp_path, capsys, monkeypatch, case):
    from stages.base_model import main

    base, message = MODEL_BASES[case]
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    _setup(tmp_path)
    (tmp_path / "nocfg").mkdir()
    (tmp_path / "nocfg" / "tokenizer.model").write_text("x")
    if "/" not in base or base.startswith("./"):
        base = base if base.startswith("./") else str(tmp_path / base)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(_params(tmp_path, model={"base": base})))
    (tmp_path / "out" / "model").mkdir()
    (tmp_path / "out" / "model" / "config.json").write_text("{}\n")
    assert re.search(message, _run_refused(tmp_path, main, ["--params", str(tmp_path / "params.yaml"),
                                                            "--out", str(tmp_path / "out" / "model")], capsys))


def test_a_model_folder_without_weights(tmp_path, capsys):
    from stages.evaluate import main

    _setup(tmp_path)
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text('{"model_type": "llama"}\n')
    message = _run_refused(tmp_path, main, [
        "--params", str(tmp_path / "params.yaml"), "--model", str(tmp_path / "model"),
        "--test", str(tmp_path / "gold.jsonl"), "--metrics", str(tmp_path / "out" / "r1.json"),
        "--predictions", str(tmp_path / "out" / "r1.jsonl")], capsys)
    assert re.search(r"model '.*model': the folder lacks weights \(model.safetensors or pytorch_model.bin\)", message)


def test_dpo_pairs_with_a_null_response(tmp_path, capsys):
    from stages.dpo import main

    _setup(tmp_path)
    write_jsonl(tmp_path / "pairs.jsonl", [{"id": ID0, "pair": 0, "prompt": GOLD[0]["prompt"], "chosen": None,
                                            "rejected": "#### 1"}])
    message = _run_refused(tmp_path, main, ["--params", str(tmp_path / "params.yaml"), "--policy", str(tmp_path),
                                            "--pairs", str(tmp_path / "pairs.jsonl"),
                                            "--out", str(tmp_path / "out" / "model")], capsys)
    assert re.search(rf"pairs.jsonl:1: id '{ID0}': chosen must be a string, got null", message)


def test_a_missing_argument_is_one_line_too(tmp_path, capsys):
    from stages.refine import main

    _setup(tmp_path)
    message = _run_refused(tmp_path, main, ["--params", str(tmp_path / "params.yaml"), "--round", "r1"], capsys)
    assert "the following arguments are required: --labels" in message
    assert "see `python -m stages.refine --help`" in message


def test_an_output_that_cannot_be_written_leaves_the_previous_set(tmp_path, capsys):
    """The metrics path's folder is a file: nothing is written, not even the labels."""
    from stages.supervise import main

    _setup(tmp_path)
    out = tmp_path / "out"
    message = _run_refused(tmp_path, main, [
        "--params", str(tmp_path / "params.yaml"), "--gold", str(tmp_path / "gold.jsonl"),
        "--label-file", str(tmp_path / "inputs/labels.jsonl"),
        "--out", str(out / "r0.jsonl"), "--metrics", str(out / "r0.json" / "metrics.json"),
        "--quality", str(out / "quality.json")], capsys)
    assert "r0.json" in message and "check the path, its permissions and the free disk space" in message


def test_a_disk_full_while_committing_leaves_the_previous_set(tmp_path, capsys, monkeypatch):
    """The fourth of refine's outputs fails to move into place: the three already moved are put
    back, so labels, audit and metrics stay one run's."""
    real_replace = os.replace

    def full_disk(src, dst):
        if Path(dst).name == "r1.quality.json" and ".previous" not in str(src):
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    _setup(tmp_path)
    monkeypatch.setattr(os, "replace", full_disk)
    message = _refine(tmp_path, capsys)
    assert "No space left on device" in message


def test_a_failure_between_outputs_writes_none_of_them(tmp_path, capsys, monkeypatch):
    """Run outside DVC, a stage that fails after staging its labels but before its metrics
    leaves the previous labels, audit and metrics together."""
    from ilr.core.io import StagedOutputs

    real_json = StagedOutputs.json

    def failing_json(self, target, data):
        if Path(target).name == "r1.json":
            raise OSError(5, "Input/output error")
        return real_json(self, target, data)

    _setup(tmp_path)
    monkeypatch.setattr(StagedOutputs, "json", failing_json)
    assert "Input/output error" in _refine(tmp_path, capsys)


def _stage_process(tmp_path, **env):
    return subprocess.run(
        [sys.executable, "-m", "stages.refine", "--params", str(tmp_path / "params.yaml"), "--round", "r1",
         "--labels", str(tmp_path / "labels.jsonl"), "--proposals", str(tmp_path / "proposals.jsonl"),
         "--gold", str(tmp_path / "gold.jsonl"), "--out", str(tmp_path / "out" / "r1.jsonl"),
         "--audit", str(tmp_path / "out" / "audit.jsonl"), "--metrics", str(tmp_path / "out" / "r1.json"),
         "--quality", str(tmp_path / "out" / "r1.quality.json")],
        cwd=REPO, capture_output=True, text=True, timeout=300,
        env={**os.environ, "GX_ANALYTICS_ENABLED": "false", "PYTHONPATH": str(REPO), **env})


def test_a_stage_run_by_hand_on_a_bad_file_prints_one_line_and_no_traceback(tmp_path):
    _setup(tmp_path)
    write_jsonl(tmp_path / "proposals.jsonl", [{"id": g["id"], "proposal": None} for g in GOLD])
    before = _snapshot(tmp_path / "out")
    done = _stage_process(tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        f"refine: error: {tmp_path / 'proposals.jsonl'}:1: id '{ID0}': proposal must be a string, got null "
        "(null); write it as text in double quotes"]
    assert _snapshot(tmp_path / "out") == before
    debug = _stage_process(tmp_path, ILR_DEBUG="1")
    assert debug.returncode == 1 and "Traceback" in debug.stderr and "DataFileError" in debug.stderr
