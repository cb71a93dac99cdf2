"""The comparison classifier, trained for real on a tiny planted task (the embedded model)."""
import pytest

from ilr.core.params import FeedbackModelParams
from ilr.measure.reliability import measure_decisions
from ilr.method.comparison import score_both_orders
from ilr.train.feedback_model import (acceptor_from, build_training_args, load_acceptor, pair_items,
                                train_feedback_model)

WORDS = ["apple", "river", "stone", "cloud", "maple", "tiger", "piano", "lemon", "chair",
         "ocean", "pearl", "comet", "tulip", "amber", "cedar", "delta", "ember", "frost",
         "grape", "honey", "ivory", "jelly", "koala", "lilac"]


def _planted_pairs():
    """The better answer always ends in 'correct', the worse in 'wrong': a separable signal."""
    return [{"id": f"q{i}", "prompt": f"What is the word number {i}?", "kind": "gold>wrong",
             "better": f"The word is {w}. correct", "worse": f"The word is {w}. wrong"}
            for i, w in enumerate(WORDS)]


@pytest.fixture(scope="module")
def trained(embedded_model_dir, tmp_path_factory):
    pairs = _planted_pairs()
    train, heldout = pairs[:18], pairs[18:]
    params = FeedbackModelParams(max_length=64, args={
        "num_train_epochs": 4, "learning_rate": 3e-4, "per_device_train_batch_size": 8,
        "warmup_steps": 0, "logging_steps": 1})
    out = tmp_path_factory.mktemp("feedback") / "model"
    log = train_feedback_model(embedded_model_dir, train, heldout, params=params, out=str(out),
                               seed=0)
    return log, heldout, str(out)


def _accuracy(accept, pairs):
    items = pair_items(pairs)
    scores = score_both_orders(items, accept)
    return measure_decisions([i["want"] for i in items], scores)["accuracy"], scores


def test_a_planted_separable_signal_is_learned(trained):
    log, heldout, _ = trained
    accuracy, _ = _accuracy(acceptor_from(log["model"], log["tokenizer"]), heldout)
    assert accuracy > 0.9
    assert any("eval_loss" in row for row in log["curve"])  # it evaluated on the held-out pairs


def test_the_saved_classifier_scores_as_the_trained_one(trained):
    """The classifier that scores is the one that trained: held-out accuracy and scores in memory
    right after training equal those after a reload from disk (float32 save)."""
    log, heldout, out = trained
    in_memory, scores = _accuracy(acceptor_from(log["model"], log["tokenizer"]), heldout)
    reloaded, scores_again = _accuracy(load_acceptor(out), heldout)
    assert reloaded == in_memory
    assert scores_again == pytest.approx(scores, abs=1e-5)


def test_early_stopping_restores_the_best_epoch(tmp_path):
    args = build_training_args(FeedbackModelParams(args={"num_train_epochs": 3}),
                               output_dir=str(tmp_path), seed=0, evaluate=True)
    assert args.load_best_model_at_end and args.metric_for_best_model == "eval_loss"
    assert args.eval_strategy == "epoch" and args.save_strategy == "epoch"
    assert not build_training_args(FeedbackModelParams(), output_dir=str(tmp_path),
                                   seed=0).load_best_model_at_end
