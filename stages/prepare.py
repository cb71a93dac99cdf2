"""DVC stage `prepare`: gold train/test records of the configured task, with stable ids.

    python -m stages.prepare --params params.yaml --train data/gold/train.jsonl --test data/gold/test.jsonl --supervisor data/gold/supervisor.jsonl
"""
import argparse
import json

from ilr.params import load_params
from ilr.prepare import write_gold_splits


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--train", required=True, help="output JSONL of gold training records")
    parser.add_argument("--test", required=True, help="output JSONL of gold test records")
    parser.add_argument("--supervisor", required=True, help="output JSONL of gold half A")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    sizes = write_gold_splits(params, train_out=args.train, test_out=args.test,
                              supervisor_out=args.supervisor)
    print(json.dumps(sizes))


if __name__ == "__main__":
    main()
