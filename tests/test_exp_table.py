"""bench/exp_table.py: experiments' figures by label version, from their metrics files."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from exp_table import exp_revision, experiment_record, versions_row  # noqa: E402

FILES = {
    "metrics/rounds/r1.json": {"accuracy": 0.4, "n": 200},
    "metrics/labels/r1.json": {"label_accuracy": 0.5, "n_replaced": 6, "n_fixed": 2, "n_broken": 1,
                               "feedback_break_even": 0.7, "has_final_answer": 1.0},
    "metrics/kl/r1.json": {"kl": 0.3, "kl_se": 0.1},
    "metrics/dpo/d1.json": {"accuracy": 0.35},
    "metrics/dpo/pairs/d1.json": {"feedback_accuracy": 0.8},   # not a version's file
    "metrics/supervisor.json": {"accuracy": 0.43, "parameters": 10},
    "metrics/gold.json": {"accuracy": 0.42, "parameters": 20},
}


def test_versions_row_joins_each_versions_files():
    rows = versions_row(FILES)
    assert rows["r1"] == {"test_accuracy": 0.4, "label_accuracy": 0.5, "n_replaced": 6,
                          "n_fixed": 2, "n_broken": 1, "feedback_break_even": 0.7, "kl": 0.3}
    assert rows["d1"] == {"test_accuracy": 0.35} and "pairs" not in rows


def test_experiment_record_keeps_only_the_params_it_changed():
    base = {"refine": {"alpha": 0.15, "alpha_scope": "dataset"}, "seeds": [1, 2]}
    changed = {"refine": {"alpha": 0.05, "alpha_scope": "dataset"}, "seeds": []}
    record = experiment_record(FILES, changed, base)
    assert record["overrides"] == {"refine.alpha": 0.05, "seeds": []}
    assert record["supervisor"] == {"accuracy": 0.43, "parameters": 10} and record["pgr"] is None


def test_exp_revision_needs_one_experiment_of_the_name():
    refs = ["refs/exps/ab/cdef/alpha-0.05", "refs/exps/12/3456/alpha-0.30", "refs/heads/main"]
    assert exp_revision("alpha-0.30", refs) == "refs/exps/12/3456/alpha-0.30"
    with pytest.raises(SystemExit, match="alpha-0.5: 0 experiments"):
        exp_revision("alpha-0.5", refs)
    with pytest.raises(SystemExit, match="2 experiments"):
        exp_revision("alpha-0.05", refs + ["refs/exps/99/0000/alpha-0.05"])


def test_experiment_record_takes_pgr_of_the_runs_own_seed():
    files = {**FILES, "metrics/compare.json": {"pgr": {"per_seed": {
        "seed0": {"value": 0.1}, "seed1": {"value": 0.4}}}}}
    assert experiment_record(files, {"seed": 1}, {"seed": 0})["pgr"] == {"value": 0.4}
    assert experiment_record(files, {"seed": 0}, {"seed": 0})["pgr"] == {"value": 0.1}
