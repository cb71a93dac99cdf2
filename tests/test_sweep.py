import pytest

from ilr.measure.sweep import (build_break_even_rows, build_dpo_sweep_row, build_sweep_row, exp_run_command,
                       merge_sweep_rows, sweep_order, sweep_targets)
from ilr.report.report import render_report


def test_the_default_flip_rate_runs_last_so_the_workspace_ends_as_committed():
    assert sweep_order([0.5, 0.0, 0.2, 0.1, 0.5], default=0.2) == [0.5, 0.0, 0.1, 0.2]
    assert sweep_order([0.3, 0.1], default=0.2) == [0.3, 0.1]  # as given: most wanted first
    with pytest.raises(ValueError, match="not probabilities"):
        sweep_order([1.5], default=0.2)


def test_each_flip_rate_is_one_dvc_experiment_of_the_targets():
    assert exp_run_command(0.3, targets=["refine@r1"]) == [
        "dvc", "exp", "run", "-S", "feedback.kind=oracle", "-S", "feedback.oracle.flip_rate=0.3",
        "refine@r1"]


def test_rows_carry_the_measured_accuracy_the_change_and_the_break_even():
    labels = {"label_accuracy": 0.50, "feedback_accuracy": 0.8, "feedback_break_even": 0.6,
              "n_fixed": 30, "n_broken": 5, "unrelated": 1}
    row = build_sweep_row(0.2, round_name="r1", label_metrics=labels, r0_label_accuracy=0.45)
    assert row["label_accuracy_change"] == pytest.approx(0.05)
    assert (row["flip_rate"], row["feedback_accuracy"], row["test_accuracy"]) == (0.2, 0.8, None)
    assert "unrelated" not in row
    worse = build_sweep_row(0.5, round_name="r1", r0_label_accuracy=0.45, round_metrics={"accuracy": 0.3},
                            label_metrics={**labels, "label_accuracy": 0.40, "feedback_break_even": 0.7})
    assert worse["test_accuracy"] == 0.3
    line = build_break_even_rows([row, worse])
    assert [p["feedback_accuracy"] for p in line] == [pytest.approx(0.65)] * 2
    assert line[0]["label_accuracy_change"] == pytest.approx(-0.05)
    assert line[1]["label_accuracy_change"] == pytest.approx(0.05)


def test_the_report_draws_the_sweep_with_its_break_even():
    sweep = [{"flip_rate": f, "arm": "ilr", "feedback_accuracy": 1 - f,
              "label_accuracy_change": 0.1 - f / 2, "feedback_break_even": 0.65} for f in (0.0, 0.5)]
    run = {"rounds": [], "baselines": {}, "quality": [], "summary": [], "samples": {},
           "feedback": None, "sweep": sweep}
    page = render_report(run)
    assert page.count("<svg") == 1  # no rounds yet: only the sweep is drawn
    assert "break-even 0.65)" in page  # in the title
    assert 'aria-label="feedback_accuracy: 0.65"' in page  # the rule at break-even


def test_run_sweep_refuses_a_round_that_asks_no_feedback(tmp_path):
    from ilr.core.params import Params, RoundParams
    from ilr.measure.sweep import run_sweep

    params = Params(rounds={"n1": RoundParams(prev="r0", mode="naive")})
    with pytest.raises(ValueError, match="not an ILR"):
        run_sweep(params, flip_rates=[0.1], round_name="n1", dpo_round=None, labels_only=True,
                  out=tmp_path)
    params = Params(rounds={"r1": RoundParams(prev="r0", mode="feedback")})
    with pytest.raises(ValueError, match="--dpo-round d9: not in dpo_rounds"):
        run_sweep(params, flip_rates=[0.1], round_name="r1", dpo_round="d9", labels_only=False,
                  out=tmp_path)
    assert not list(tmp_path.iterdir())  # nothing written


def test_each_point_trains_and_evaluates_both_arms_unless_labels_only():
    assert sweep_targets("r1", "d1", labels_only=False) == ["round_evaluate@r1", "dpo_evaluate@d1"]
    assert sweep_targets("r1", None, labels_only=False) == ["round_evaluate@r1"]
    assert sweep_targets("r1", "d1", labels_only=True) == ["refine@r1"]


def test_dpo_rows_take_the_feedback_measured_on_their_own_pairs_and_change_no_labels():
    pairs = {"feedback_accuracy": 0.7, "feedback_accuracy_low": 0.6, "feedback_auroc": 0.75,
             "n_kept": 180, "chosen_correct": 0.8}
    row = build_dpo_sweep_row(0.3, round_name="d1", pair_metrics=pairs, round_metrics={"accuracy": 0.47},
                              r0_test_accuracy=0.435)
    assert (row["arm"], row["round"], row["flip_rate"]) == ("dpo", "d1", 0.3)
    assert (row["feedback_accuracy"], row["feedback_auroc"]) == (0.7, 0.75)
    assert row["test_accuracy_change"] == pytest.approx(0.035)
    assert row["label_accuracy_change"] is None and "n_kept" not in row
    ilr = build_sweep_row(0.3, round_name="r1", label_metrics={"label_accuracy": 0.5}, r0_label_accuracy=0.45,
                          round_metrics={"accuracy": 0.42}, r0_test_accuracy=0.435)
    assert ilr["test_accuracy_change"] == pytest.approx(-0.015)
    assert set(row) == set(ilr)  # one schema: both CSVs plot on the same axes


def test_a_point_run_again_replaces_its_row_and_keeps_the_others():
    """An interrupted sweep keeps its points; a later run of some flip rates merges into them."""
    old = [{"flip_rate": f, "round": "r1", "test_accuracy": 0.4} for f in (0.0, 0.3, 0.5)]
    merged = merge_sweep_rows(old, {"flip_rate": 0.3, "round": "r1", "test_accuracy": 0.45})
    assert [(r["flip_rate"], r["test_accuracy"]) for r in merged] == [(0.0, 0.4), (0.3, 0.45), (0.5, 0.4)]
    added = merge_sweep_rows(merged, {"flip_rate": 0.1, "round": "r1", "test_accuracy": None})
    assert [r["flip_rate"] for r in added] == [0.0, 0.1, 0.3, 0.5]
