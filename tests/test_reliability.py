import pytest
from scipy.stats import binomtest

from ilr.measure.reliability import measure_decisions, measure_round_feedback, sign_test, wilson_interval


def _audit(old_correct, new_correct, score, accepted):
    return {"id": "x", "old_correct": old_correct, "new_correct": new_correct, "score": score,
            "accepted": accepted}


def test_round_feedback_from_a_hand_made_audit():
    audit = [_audit(False, True, 0.9, True),    # fix, feedback right
             _audit(False, True, 0.8, True),    # fix, feedback right
             _audit(False, True, 0.3, False),   # feedback wrong (refused a fix)
             _audit(True, False, 0.7, True),    # break, feedback wrong
             _audit(True, False, 0.1, False),   # feedback right (refused a break)
             _audit(False, False, 0.9, True),   # neither side right: not decided
             _audit(True, True, 0.2, False)]    # both right: not decided
    m = measure_round_feedback(audit)
    assert m["feedback_n"] == 5
    assert m["feedback_accuracy"] == pytest.approx(3 / 5)
    # AUROC: positives (want) 0.9, 0.8, 0.3; negatives 0.7, 0.1 -> 5 of 6 pairs ordered right
    assert m["feedback_auroc"] == pytest.approx(5 / 6)
    assert m["feedback_break_even"] == pytest.approx(2 / 5)  # 2 of the 5 labels were the right side
    low, high = wilson_interval(3, 5)
    assert (m["feedback_accuracy_low"], m["feedback_accuracy_high"]) == (low, high)
    assert m["fixed_vs_broken_p"] == pytest.approx(binomtest(2, 3, 0.5).pvalue)


def test_naive_round_has_a_sign_test_but_no_feedback_accuracy():
    audit = [_audit(False, True, None, True), _audit(True, False, None, True),
             _audit(True, False, None, True), _audit(True, False, None, False)]
    m = measure_round_feedback(audit)
    assert m["feedback_accuracy"] is None and m["feedback_auroc"] is None
    assert m["feedback_break_even"] == pytest.approx(3 / 4)
    assert m["fixed_vs_broken_p"] == pytest.approx(binomtest(1, 3, 0.5).pvalue)


def test_wilson_interval_matches_a_known_value_and_stays_in_range():
    low, high = wilson_interval(34, 50)  # the old classifier's 34 of 50
    assert low == pytest.approx(0.5419, abs=1e-3) and high == pytest.approx(0.7924, abs=1e-3)
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == 1.0
    assert wilson_interval(0, 0) is None


def test_decisions_with_ties_and_one_class():
    m = measure_decisions([True, False], [0.5, 0.5])
    assert m["accuracy"] == 0.5  # a tie refuses: wrong when wanted, right when not
    assert measure_decisions([True, True], [0.9, 0.1])["auroc"] is None
    assert sign_test(0, 0) is None
    with pytest.raises(ValueError):
        measure_decisions([True], [0.1, 0.2])
