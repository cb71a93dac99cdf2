"""Test accuracy of a model: batched greedy generation over the gold test set, then grading.

A task may add metrics of its own (``Task.test_metrics``): the safety task reports safety,
helpfulness and over-refusal, and their mean as ``accuracy``."""
from __future__ import annotations

from ilr.core.params import GenerationParams
from ilr.tasks.task import Task


def score_predictions(task: Task, records: list[dict], responses: list[dict]) -> tuple[list, dict]:
    """Per-example predictions and the summary metrics: accuracy, n, mean generated tokens, the
    share with a strict ``#### <answer>`` line (``has_final_answer``) and the share from which
    the lenient extraction reads an answer (``answer_extracted``)."""
    if len(records) != len(responses):
        raise ValueError(f"{len(records)} records but {len(responses)} responses")
    predictions = []
    for record, response in zip(records, responses):
        predictions.append({"id": record["id"], "prediction": response["text"],
                            "answer": task.extract_answer(response["text"]),
                            "gold_answer": task.extract_answer(record["response"]),
                            "correct": task.grade(response["text"], record["response"],
                                                  item=record),
                            "n_tokens": response["n_tokens"]})
        note = task.answer_note(response["text"], item=record)
        if note is not None:  # why the answer could not be checked (a refused SQL query)
            predictions[-1]["note"] = note
    n = len(predictions)
    share = (lambda k: sum(bool(p[k]) for p in predictions) / n if n else 0.0)
    metrics = {"accuracy": share("correct"), "n": n,
               "mean_generated_tokens": sum(p["n_tokens"] for p in predictions) / n if n else 0.0,
               "has_final_answer": sum(task.has_final_answer(p["prediction"])
                                       for p in predictions) / n if n else 0.0,
               "answer_extracted": sum(p["answer"] is not None for p in predictions) / n if n else 0.0}
    metrics.update(task.test_metrics(records, [r["text"] for r in responses]))
    return predictions, metrics


def evaluate_model(model, tokenizer, task: Task, records: list[dict], *,
                   params: GenerationParams, seed: int, backend: str = "transformers",
                   dtype: str = "float32") -> tuple[list, dict]:
    """``model``: a loaded model or a model folder (see ``ilr.engines.generation``)."""
    from ilr.engines.generation import generate_responses

    conversations = [task.render_messages(r["prompt"]) for r in records]
    responses = generate_responses(model, tokenizer, conversations, params=params, seed=seed,
                                   desc="evaluate", backend=backend, dtype=dtype)
    return score_predictions(task, records, responses)

