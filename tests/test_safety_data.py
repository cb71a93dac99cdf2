"""The safety task's second source: Safety-Tuned LLaMAs' released data, read from a local folder
(../shared/data/safety-tuned-llamas; skipped where it is absent), and its errors on a bad
folder, with a planted copy of the layout."""
import json
from pathlib import Path

import pytest

from ilr.core.io import DataFileError
from ilr.core.params import SafetyParams, TaskParams
from ilr.tasks.refusal import advbench_refuses, refuses
from ilr.tasks.safety_data import read_evaluation, read_training
from ilr.tasks.task import load_gold_records, task_from_params

REPO = Path(__file__).resolve().parents[1]
STL = REPO.parent / "shared" / "data" / "safety-tuned-llamas"


def _params(folder, **sizes) -> TaskParams:
    safety = SafetyParams(source="safety-tuned-llamas", safety_tuned_llamas={"folder": str(folder)})
    return TaskParams(name="safety", safety=safety, **{"n_train": 40, "n_test": 30,
                                                       "n_supervisor": 20, **sizes})


@pytest.fixture(scope="module")
def stl() -> Path:
    if not (STL / "training" / "safety_only_data_Instructions.json").is_file():
        pytest.skip(f"safety-tuned-llamas data not found at {STL}")
    return STL


def test_the_released_training_file_and_what_the_detector_reads_in_it(stl):
    rows = read_training(str(stl))
    assert len(rows) == 2483
    refusals = sum(refuses(r["response"]) for r in rows)
    # measured: the safe responses are refusals (1,511) or safe answers (corrections, warnings),
    # which the AdvBench list mostly flags for their words ("As an AI", "illegal")
    assert refusals == 1511
    assert sum(advbench_refuses(r["response"]) for r in rows) == 1981


def test_the_splits_mix_harmful_instructions_with_benign_requests(stl):
    splits = load_gold_records(_params(stl), seed=0)
    assert [len(splits[k]) for k in ("train", "supervisor", "test")] == [40, 20, 30]
    for name in ("train", "supervisor"):
        harmful = [r for r in splits[name] if r["kind"] == "harmful"]
        assert len(harmful) == round(len(splits[name]) * 0.3)
        assert all(r["id"].startswith("stl-train-") and refuses(r["response"]) for r in harmful)
    ids = [r["id"] for split in splits.values() for r in split]
    assert len(ids) == len(set(ids))
    task = task_from_params(_params(stl))
    for r in splits["train"] + splits["supervisor"]:
        assert task.grade(r["response"], r["response"], item=r), r["id"]
    assert splits == load_gold_records(_params(stl), seed=0)


def test_the_test_split_is_the_named_evaluation_sets(stl):
    test = load_gold_records(_params(stl, n_test=None), seed=0)["test"]
    sizes = {"I-MaliciousInstructions": 100, "Q-Harm": 100, "I-PhysicalSafetyUnsafe": 100,
             "I-Alpaca": 50, "I-PhysicalSafetySafe": 100}
    assert len(test) == sum(sizes.values())
    for name, n in sizes.items():
        got = [r for r in test if r["category"] == name]
        assert len(got) == n and {r["kind"] for r in got} == {
            "benign" if name in ("I-Alpaca", "I-PhysicalSafetySafe") else "harmful"}
    assert all(r["check"] is None for r in test)
    assert read_evaluation(str(stl), "Q-Harm")[0] == test[100]["prompt"]


def _planted(tmp_path, rows, evaluation=None) -> Path:
    (tmp_path / "training").mkdir()
    (tmp_path / "evaluation").mkdir()
    (tmp_path / "training/safety_only_data_Instructions.json").write_text(json.dumps(rows))
    for name, data in (evaluation or {}).items():
        (tmp_path / f"evaluation/{name}.json").write_text(json.dumps(data))
    return tmp_path


def test_a_planted_folder_loads_and_drops_safe_answers_that_do_not_refuse(tmp_path):
    rows = [{"instruction": f"Harmful thing {i}", "input": "", "output": "I can't help with that."}
            for i in range(6)]
    rows += [{"instruction": "Is the earth flat?", "input": "", "output": "No, it is round."}]
    rows += [{"instruction": "Harmful thing 0", "input": "", "output": "I won't help with that."}]
    evaluation = {"Q-Harm": {"instructions": ["bad 1", "bad 2"]},
                  "I-Alpaca": {"instructions": ["Name a colour."], "inputs": []}}
    folder = _planted(tmp_path, rows, evaluation)
    params = _params(folder, n_train=10, n_supervisor=10, n_test=None).model_copy(update={
        "safety": SafetyParams(source="safety-tuned-llamas", safety_tuned_llamas={
            "folder": str(folder), "harmful_test": ["Q-Harm"], "benign_test": ["I-Alpaca"]})})
    splits = load_gold_records(params, seed=0)
    harmful = [r for k in ("train", "supervisor") for r in splits[k] if r["kind"] == "harmful"]
    assert len(harmful) == 6 and len({r["prompt"] for r in harmful}) == 6  # no duplicate, no "No,"
    assert [r["prompt"] for r in splits["test"]] == ["bad 1", "bad 2", "Name a colour."]
    with pytest.raises(ValueError, match="left of 6"):
        load_gold_records(params.model_copy(update={"n_train": 20}), seed=0)


def test_a_bad_folder_is_one_clear_error(tmp_path):
    with pytest.raises(DataFileError, match="set task.safety.safety_tuned_llamas.folder"):
        load_gold_records(_params(tmp_path / "nowhere"), seed=0)
    folder = _planted(tmp_path, [{"instruction": "x"}])
    with pytest.raises(DataFileError, match="entry 0: needs text fields instruction and output"):
        load_gold_records(_params(folder), seed=0)
    with pytest.raises(ValueError, match="task.safety.safety_tuned_llamas.folder"):
        load_gold_records(TaskParams(name="safety", safety=SafetyParams(
            source="safety-tuned-llamas")), seed=0)
