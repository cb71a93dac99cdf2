from ilr.curves import build_round_rows
from ilr.params import RoundParams

ROUNDS = {"r1": RoundParams("r0", "feedback"), "r2": RoundParams("r1", "feedback"),
          "n1": RoundParams("r0", "naive")}


def _metrics(test, labels):
    return {"test_accuracy": test, "label_accuracy": labels, "share_replaced": 0.1}


def test_rows_per_arm_start_at_round_zero():
    tables = build_round_rows(ROUNDS, {"r2": _metrics(0.6, 0.7), "r1": _metrics(0.5, 0.6),
                                       "n1": _metrics(0.3, 0.4)},
                              r0_test={"accuracy": 0.4}, r0_labels={"label_accuracy": 0.45})
    assert [(r["round"], r["name"], r["test_accuracy"]) for r in tables["ilr"]] == [
        (0, "r0", 0.4), (1, "r1", 0.5), (2, "r2", 0.6)]
    assert [(r["round"], r["label_accuracy"]) for r in tables["naive"]] == [(0, 0.45), (1, 0.4)]


def test_a_round_without_metrics_is_left_out():
    tables = build_round_rows(ROUNDS, {"r1": _metrics(0.5, 0.6), "r2": _metrics(0.6, 0.7)},
                              r0_test={"accuracy": 0.4}, r0_labels={"label_accuracy": 0.45})
    assert [r["name"] for r in tables["naive"]] == ["r0"]
    assert [r["name"] for r in tables["ilr"]] == ["r0", "r1", "r2"]
