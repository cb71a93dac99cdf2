"""DVC stage `evaluate`: test accuracy of a model by batched generation over the gold test set.

    python -m stages.evaluate --params params.yaml --model models/sft/gold --test data/gold/test.jsonl --metrics metrics/gold.json --predictions data/predictions/gold.jsonl
"""
import argparse
import json

from ilr.core.errors import run_stage
from ilr.core.io import commit_outputs, read_records
from ilr.core.params import load_params
from ilr.core.phases import phase
from ilr.measure.evaluate import evaluate_model
from ilr.tasks.task import task_from_params
from ilr.train.checkpoints import (check_model_source, inference_name, load_tokenizer,
                                   saved_parameter_count)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--model", required=True, help="model folder or hub id")
    parser.add_argument("--test", required=True, help="JSONL of gold test records")
    parser.add_argument("--metrics", required=True, help="output metrics JSON")
    parser.add_argument("--predictions", required=True, help="output per-example JSONL")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    records = read_records(args.test, required=("id", "prompt", "response"))
    check_model_source(args.model)  # weights first: the engine loads them later
    with phase("compute"):
        predictions, metrics = evaluate_model(args.model, load_tokenizer(args.model),
                                              task_from_params(params.task), records,
                                              params=params.evaluate, seed=params.seed,
                                              backend=params.generation.backend,
                                              dtype=params.model.dtype)
    metrics["dtype"] = inference_name(params.model.dtype, args.model)  # the engine's dtype too
    metrics["parameters"] = saved_parameter_count(args.model)  # None for a hub id or an adapter
    with phase("save"), commit_outputs() as out:
        out.jsonl(args.predictions, predictions)
        out.json(args.metrics, metrics)
    print(json.dumps(metrics))


if __name__ == "__main__":
    run_stage(main)
