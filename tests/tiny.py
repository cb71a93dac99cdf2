"""The end-to-end tiny repo: a temporary copy of this repo (its git-tracked and untracked files)
with the quick profile's params, less its naive round, built once by `dvc repro` and committed
(dvc.lock and the metrics), as a user commits a run. tests/conftest.py's `tiny_repo` fixture
builds it once per session; test_pipeline and test_remote share it. Also `build_tiny_model`, a
tiny random Llama with a tiny byte-level tokenizer, built offline (test_launch, test_sft)."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from ilr.core.profiles import apply_profile, load_profile
from ilr.measure.seed_run import pipeline_outputs

REPO = Path(__file__).resolve().parents[1]
# the quick profile (`ilr quick`), less its naive round n1: ~2 minutes of this suite; the naive
# mode is covered by test_refine's planted run and added here only by the slow test
QUICK = load_profile(REPO / "profiles/quick.yaml")
ROUNDS = {name: item for name, item in QUICK.replace["rounds"].items() if item["mode"] == "feedback"}
DPO_ROUNDS = QUICK.replace["dpo_rounds"]
GIT_USER = ["-c", "user.name=t", "-c", "user.email=t@t"]


def command_env(cwd, extra: dict | None = None) -> dict:
    """This venv's commands first on PATH, the repo at ``cwd`` importable, ``extra`` on top."""
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "DVC_NO_ANALYTICS": "1", "PYTHONPATH": str(cwd), **(extra or {})}


def run(args, cwd, env: dict | None = None) -> str:
    """Run ``args`` in ``cwd``; its stdout, or a failed assertion with the end of both streams."""
    result = subprocess.run(args, cwd=cwd, env=command_env(cwd, env), capture_output=True, text=True)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def copy_repo_files(root: Path) -> None:
    """This repo's git-tracked and untracked (not ignored) files into ``root``, without its
    dvc.lock and the outputs it lists (the committed run's labels, audits and predictions are
    in git too): a repo whose every stage is still to run."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO,
                           capture_output=True, text=True, check=True).stdout.split()
    outputs = pipeline_outputs(REPO)
    for name in files:
        if (REPO / name).is_file() and name not in outputs:
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, root / name)
    (root / "dvc.lock").unlink(missing_ok=True)


def build_tiny_repo(root: Path) -> Path:
    copy_repo_files(root)
    params = apply_profile(yaml.safe_load((root / "params.yaml").read_text()), QUICK)
    params["rounds"] = ROUNDS  # the profile's sizes: 8 prompts, 6 test problems, alpha 0.25
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(["git", "init", "-q"], root)
    run(["git", "symbolic-ref", "HEAD", "refs/heads/main"], root)
    with open(root / ".git/info/exclude", "a") as exclude:
        exclude.write(".first-repro.log\n")
    run(["git", "add", "-A"], root)
    run(["git", *GIT_USER, "commit", "-qm", "init"], root)
    # one round's stage first: it must pull in only what it needs
    first = run(["dvc", "repro", "refine@r2"], root)
    (root / ".first-repro.log").write_text(first)
    run(["dvc", "repro"], root)
    run(["git", "add", "-A"], root)
    run(["git", *GIT_USER, "commit", "-qm", "dvc repro: the quick profile"], root)
    return root


TEMPLATE = ("{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}"
            "{% if add_generation_prompt %}<|assistant|>{% endif %}")


def build_tiny_model(folder: Path, texts: list[str]) -> None:
    """A random 2-layer Llama and a byte-level BPE tokenizer trained on ``texts``."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    specials = ["<|end|>", "<|system|>", "<|user|>", "<|assistant|>"]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=400, special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|end|>",
                                        pad_token="<|end|>", chat_template=TEMPLATE)
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(
        vocab_size=tok.get_vocab_size(), hidden_size=32, intermediate_size=64,
        num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
        max_position_embeddings=256, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, bos_token_id=None))
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
