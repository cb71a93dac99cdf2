import os
from pathlib import Path

import pytest

os.environ.setdefault("DVC_NO_ANALYTICS", "1")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never download weights or data

REPO = Path(__file__).resolve().parents[1]
GSM8K = REPO.parent / "shared" / "data" / "gsm8k"


@pytest.fixture(scope="session")
def gsm8k_dir() -> Path:
    if not (GSM8K / "test.jsonl").is_file():
        pytest.skip(f"real GSM8K not found at {GSM8K}")
    return GSM8K


@pytest.fixture(scope="session")
def embedded_model():
    """The embedded GGUF model, loaded once (float32, dequantized) with its tokenizer."""
    from ilr.core.params import EMBEDDED_MODEL
    from ilr.train.checkpoints import load_causal_lm, load_tokenizer

    return load_causal_lm(EMBEDDED_MODEL), load_tokenizer(EMBEDDED_MODEL)


@pytest.fixture(scope="session")
def planted_run(tmp_path_factory):
    """A run folder laid out like `dvc repro`'s outputs, made by the real refine stage with a
    perfect oracle on planted labels: 10 of 40 r0 labels are wrong, proposals are gold, the
    cap (alpha 0.15) allows 6 replacements, so r1 replaces the 6 smallest wrong ids (ties on
    score go by id). ``n1`` is the naive round (6 random wrong ones). Returns (root, wrong,
    expected r1 replacements)."""
    import yaml

    from ilr.core.io import write_json, write_jsonl
    from ilr.method.noise import corrupt_records
    from ilr.tasks.arith import ArithSpec, generate_records
    from stages.refine import main as refine

    root = tmp_path_factory.mktemp("run")
    gold = generate_records(ArithSpec(), n=40, seed=0, split="train")
    r0, _ = corrupt_records(gold, error_rate=0.25, mix={"slip": 1}, seed=0)
    wrong = sorted(r["id"] for r in r0 if r["error"])
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["feedback"]["kind"] = "oracle"
    params["rounds"] = {"r1": {"prev": "r0", "mode": "feedback"}, "n1": {"prev": "r0", "mode": "naive"}}
    params["propose"]["versions"] = ["r0"]
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    write_jsonl(root / "data/gold/train.jsonl", gold)
    write_jsonl(root / "data/labels/r0.jsonl", r0)
    write_jsonl(root / "data/proposals.jsonl", [{"id": g["id"], "proposal": g["response"]} for g in gold])
    write_json(root / "metrics/rounds/r0.json", {"accuracy": 0.30, "n": 10, "has_final_answer": 1.0})
    write_json(root / "metrics/labels/r0.json", {"label_accuracy": 0.75, "n": 40, "has_final_answer": 1.0})
    for name, accuracy in (("r1", 0.35), ("n1", 0.28)):
        refine(["--params", str(root / "params.yaml"), "--round", name,
                "--labels", str(root / "data/labels/r0.jsonl"),
                "--proposals", str(root / "data/proposals.jsonl"),
                "--gold", str(root / "data/gold/train.jsonl"),
                "--out", str(root / f"data/labels/{name}.jsonl"),
                "--audit", str(root / f"data/audit/{name}.jsonl"),
                "--metrics", str(root / f"metrics/labels/{name}.json"),
                "--quality", str(root / f"metrics/quality/{name}.json")])
        write_json(root / f"metrics/rounds/{name}.json",
                   {"accuracy": accuracy, "n": 10, "has_final_answer": 1.0})
    return root, wrong, wrong[:6]


@pytest.fixture(scope="session")
def embedded_model_dir(embedded_model, tmp_path_factory):
    """The embedded model saved as a plain transformers folder (what `base_model` writes);
    TRL's DPOTrainer builds its reference model from such a folder."""
    from ilr.train.checkpoints import save_causal_lm

    out = tmp_path_factory.mktemp("embedded") / "model"
    save_causal_lm(embedded_model[0], embedded_model[1], out, dtype="float32")
    return str(out)


@pytest.fixture(scope="session")
def tiny_repo(tmp_path_factory):
    """The quick profile's repo, built once by `dvc repro` and committed (tests/tiny.py)."""
    from tiny import build_tiny_repo

    return build_tiny_repo(tmp_path_factory.mktemp("repo"))


@pytest.fixture(scope="session")
def s3_env(tmp_path_factory):
    """A real S3 API (moto's server) on 127.0.0.1, with one bucket, ``ilr-test``; the
    environment a DVC S3 remote needs to reach it (fake credentials, the endpoint)."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    empty = tmp_path_factory.mktemp("aws") / "config"  # none of this machine's AWS settings
    empty.touch()
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL_S3": f"http://{host}:{port}",
           "AWS_CONFIG_FILE": str(empty), "AWS_SHARED_CREDENTIALS_FILE": str(empty)}
    boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL_S3"], region_name="us-east-1",
                 aws_access_key_id="testing", aws_secret_access_key="testing",
                 ).create_bucket(Bucket="ilr-test")
    yield env
    server.stop()
