import pytest

from ilr.core.params import DpoRoundParams, RoundParams
from ilr.report.summary import build_summary_rows, dpo_depth, merge_round_metrics, split_arms

ROUNDS = {"r1": RoundParams(prev="r0", mode="feedback"),
          "r2": RoundParams(prev="r1", mode="feedback"), "n1": RoundParams(prev="r0", mode="naive")}
DPO = {"d1": DpoRoundParams(policy="models/sft/r0"), "d2": DpoRoundParams(policy="models/dpo/d1")}


def test_rows_per_arm_start_at_round_zero_with_kl():
    rows = build_summary_rows(
        ROUNDS, DPO, label_metrics={"r0": {"label_accuracy": 0.45}, "r1": {"label_accuracy": 0.6},
                                    "r2": {"label_accuracy": 0.7}},
        test_metrics={"r0": {"accuracy": 0.4}, "r2": {"accuracy": 0.6}, "r1": {"accuracy": 0.5}},
        dpo_metrics={"d1": {"accuracy": 0.42}}, kl={"r1": {"kl": 1.5, "kl_se": 0.2}, "d1": {"kl": 0.3}})
    arms = split_arms(rows)
    assert [(r["round"], r["name"], r["test_accuracy"], r["kl"]) for r in arms["ilr"]] == [
        (0, "r0", 0.4, 0.0), (1, "r1", 0.5, 1.5), (2, "r2", 0.6, None)]
    assert [r["name"] for r in arms["naive"]] == ["r0"]  # no metrics yet: left out
    assert [(r["name"], r["round"], r["test_accuracy"], r["kl"]) for r in arms["dpo"]] == [
        ("r0", 0, 0.4, 0.0), ("d1", 1, 0.42, 0.3)]


def test_dpo_rounds_chain_through_their_policies():
    assert dpo_depth(DPO, "d1") == 1 and dpo_depth(DPO, "d2") == 2
    with pytest.raises(ValueError, match="form a loop"):
        dpo_depth({"d1": DpoRoundParams(policy="models/dpo/d1")}, "d1")


def test_a_round_without_an_evaluated_model_keeps_its_label_metrics():
    merged = merge_round_metrics({"r1": {"label_accuracy": 0.5, "n_replaced": 3},
                                  "r2": {"label_accuracy": 0.6}},
                                 {"r1": {"accuracy": 0.4, "n": 200}})
    assert merged == {"r1": {"label_accuracy": 0.5, "n_replaced": 3, "test_accuracy": 0.4},
                      "r2": {"label_accuracy": 0.6}}
