"""The supervisor ladder of issue 30: how a supervisor cut to its base's first k decoder layers
answers the test problems, for each k, and which k the fixed rule picks.

    python bench/supervisor_ladder.py --params params.yaml --base models/base \\
        --half-a data/gold/supervisor.jsonl --test data/gold/test.jsonl \\
        --layers 6,10,15,20,30 --out bench/results/supervisor-ladder.json

Each k is trained exactly as stage `supervisor` trains it (`supervisor.layers: k`, the same
examples, recipe and seed) but without its checkpoints' sampling (the classifier's material,
not needed here), then graded on the test set as stage `evaluate` grades. The rule, fixed
before the results (params.yaml, README): the smallest k whose supervisor answers at least
``--min-accuracy`` (20%) of the test problems, so its labels carry signal. The file is
rewritten after each k, so a stopped ladder keeps what it measured.
"""
import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ilr.core.io import atomic_path, read_records  # noqa: E402
from ilr.core.params import load_params  # noqa: E402
from ilr.measure.evaluate import evaluate_model  # noqa: E402
from ilr.tasks.task import task_from_params  # noqa: E402
from ilr.train.checkpoints import inference_name, load_tokenizer  # noqa: E402
from ilr.train.supervisor import train_supervisor  # noqa: E402
from train_throughput import cpu_info  # noqa: E402


def chosen_layers(rungs: list[dict], *, min_accuracy: float) -> int | None:
    """The rule: the smallest k whose supervisor's test accuracy is at least ``min_accuracy``."""
    passing = [r["layers"] for r in rungs if r["test_accuracy"] >= min_accuracy]
    return min(passing) if passing else None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--base", default="models/base")
    parser.add_argument("--half-a", default="data/gold/supervisor.jsonl")
    parser.add_argument("--test", default="data/gold/test.jsonl")
    parser.add_argument("--layers", default="6,10,15,20,30", help="comma-separated k values")
    parser.add_argument("--min-accuracy", type=float, default=0.2)
    parser.add_argument("--out", default="bench/results/supervisor-ladder.json")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    task = task_from_params(params.task)
    half_a = read_records(args.half_a, required=("id", "prompt", "response"))
    test = read_records(args.test, required=("id", "prompt", "response"))
    record = {"rule": f"the smallest k whose supervisor answers at least {args.min_accuracy:.0%} "
                      "of the test problems", "min_accuracy": args.min_accuracy,
              "cpu": cpu_info()[0], "seed": params.seed, "n_test": len(test), "rungs": []}
    for k in [int(x) for x in args.layers.split(",")]:
        sup = params.supervisor.model_copy(update={
            "layers": k, "args": {**params.supervisor.args, "save_strategy": "no"}})
        with tempfile.TemporaryDirectory(prefix=f"ladder-{k}-") as out:
            started = time.time()
            _, summary = train_supervisor(args.base, half_a, task=task, out=out,
                                          params=params.model_copy(update={"supervisor": sup}))
            trained = time.time()
            _, metrics = evaluate_model(out, load_tokenizer(out), task, test,
                                        params=params.evaluate, seed=params.seed,
                                        backend=params.generation.backend,
                                        dtype=params.model.dtype)
            record["dtype"] = inference_name(params.model.dtype, out)
        record["rungs"].append({"layers": k, "of_layers": summary["of_layers"],
                                "parameters": summary["parameters"],
                                "test_accuracy": metrics["accuracy"],
                                "has_final_answer": metrics["has_final_answer"],
                                "train_loss": summary["train_loss"],
                                "train_s": round(trained - started, 1),
                                "evaluate_s": round(time.time() - trained, 1)})
        record["chosen_layers"] = chosen_layers(record["rungs"], min_accuracy=args.min_accuracy)
        with atomic_path(args.out) as tmp:
            Path(tmp).write_text(json.dumps(record, indent=1) + "\n")
        print(json.dumps(record["rungs"][-1]), flush=True)
    print(f"chosen k: {record['chosen_layers']}")


if __name__ == "__main__":
    main()
