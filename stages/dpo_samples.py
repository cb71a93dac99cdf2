"""DVC stage `dpo_samples@<round>`: sample `dpo.n_samples` responses per training prompt from the
policy (the expensive half of the DPO data; `dpo_pairs` scores them, so a feedback change reruns
only the scoring).

    python -m stages.dpo_samples --params params.yaml --policy models/sft/r0 --gold data/gold/train.jsonl --out data/dpo/samples/d1.jsonl
"""
import argparse

from ilr.core.errors import run_stage
from ilr.core.io import read_records, write_jsonl
from ilr.core.params import load_params
from ilr.core.phases import phase
from ilr.tasks.task import task_from_params
from ilr.train.checkpoints import check_model_source, load_tokenizer
from ilr.train.dpo import build_sample_records, sample_policy


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--policy", required=True, help="the model to sample from")
    parser.add_argument("--gold", required=True, help="JSONL of the student's training prompts")
    parser.add_argument("--out", required=True, help="output JSONL of {id, prompt, samples}")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    task = task_from_params(params.task)
    gold = read_records(args.gold, required=("id", "prompt", "response"))
    check_model_source(args.policy)  # weights first: the engine loads them later
    with phase("compute"):
        samples = sample_policy(args.policy, load_tokenizer(args.policy), gold, task=task,
                                n_samples=params.dpo.n_samples, generation=params.dpo.generation,
                                seed=params.seed, backend=params.generation.backend,
                                dtype=params.model.dtype)
    with phase("save"):
        write_jsonl(args.out, build_sample_records(gold, samples, n_samples=params.dpo.n_samples))


if __name__ == "__main__":
    run_stage(main)
