from ilr.core.params import TaskParams
from ilr.measure.evaluate import score_predictions
from ilr.tasks.task import task_from_params


def test_score_predictions_counts_planted_right_and_wrong():
    task = task_from_params(TaskParams())
    records = [{"id": str(i), "prompt": "p", "response": f"#### {i}"} for i in range(4)]
    responses = [{"text": "#### 0", "n_tokens": 4}, {"text": "1 + 0 = 1. #### 1", "n_tokens": 10},
                 {"text": "#### 7", "n_tokens": 6}, {"text": "no idea", "n_tokens": 2}]
    predictions, metrics = score_predictions(task, records, responses)
    assert [p["correct"] for p in predictions] == [True, True, False, False]
    # '#### 1' mid-line is no final-answer line; the lenient extraction still reads it
    assert metrics == {"accuracy": 0.5, "n": 4, "mean_generated_tokens": 5.5,
                       "has_final_answer": 0.5, "answer_extracted": 0.75}
