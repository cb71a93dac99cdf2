"""profiles/paper.yaml: the paper's reference settings load as params and build every trainer
config (SFTConfig for the student and the supervisor, DPOConfig, the classifier's
TrainingArguments, LoraConfig) without loading a model."""
from pathlib import Path

import pytest
import yaml

from ilr.core.params import SftParams, load_params
from ilr.core.profiles import apply_profile, exp_run_command, load_profile

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def paper(tmp_path_factory):
    merged = apply_profile(yaml.safe_load((REPO / "params.yaml").read_text()),
                           load_profile(REPO / "profiles/paper.yaml"))
    path = tmp_path_factory.mktemp("paper") / "params.yaml"
    path.write_text(yaml.safe_dump(merged, sort_keys=False))
    return load_params(path)


def test_the_paper_models_task_and_rounds(paper):
    assert paper.model.base == "mistralai/Mistral-7B-v0.1"
    assert paper.model.supervisor_base == "google/gemma-2b"
    assert paper.task.name == "gsm8k" and paper.task.n_train is None
    assert list(paper.rounds) == [f"r{k}" for k in range(1, 7)]
    assert [r.prev for r in paper.rounds.values()] == ["r0", "r1", "r2", "r3", "r4", "r5"]
    assert [d.policy for d in paper.dpo_rounds.values()] == [
        "models/sft/r0", *(f"models/dpo/d{k}" for k in range(1, 6))]
    assert paper.refine.alpha == 0.15
    assert paper.feedback.kind == "classifier"


def test_every_trainer_config_builds_with_the_paper_values(paper, tmp_path):
    from peft import LoraConfig
    from transformers import TrainingArguments
    from trl import DPOConfig, SFTConfig

    from ilr.train.dpo import build_dpo_config
    from ilr.train.feedback_model import build_training_args
    from ilr.train.sft import build_lora_config, build_sft_config

    student = build_sft_config(paper.sft, output_dir=str(tmp_path), seed=0, dtype="bfloat16")
    sup = paper.supervisor
    supervisor = build_sft_config(SftParams(use_lora=sup.use_lora, lora=sup.lora, args=sup.args),
                                  output_dir=str(tmp_path), seed=0, dtype="bfloat16")
    for config, lr in ((student, 1e-4), (supervisor, 5e-4)):
        assert isinstance(config, SFTConfig)
        assert config.learning_rate == lr
        assert config.per_device_train_batch_size * config.gradient_accumulation_steps == 32
        assert config.num_train_epochs == 2 and config.max_length == 256
        assert config.lr_scheduler_type == "cosine" and config.warmup_steps == 0.05
        assert config.bf16
    dpo = build_dpo_config(paper.dpo, output_dir=str(tmp_path), seed=0, dtype="bfloat16")
    assert isinstance(dpo, DPOConfig)
    assert (dpo.learning_rate, dpo.beta, dpo.optim) == (1e-6, 0.1, "rmsprop")
    assert dpo.per_device_train_batch_size * dpo.gradient_accumulation_steps == 32
    assert (paper.dpo.n_samples, paper.dpo.generation.temperature, paper.dpo.keep_share) == \
        (6, 0.7, 0.15) and paper.dpo.generation.do_sample
    classifier = build_training_args(paper.feedback_model, output_dir=str(tmp_path), seed=0,
                                     dtype="bfloat16", evaluate=True)
    assert isinstance(classifier, TrainingArguments) and classifier.num_train_epochs == 5
    for section, key in ((paper.sft, "sft.lora"), (sup, "supervisor.lora"), (paper.dpo, "dpo.lora")):
        lora = build_lora_config(section, key)
        assert isinstance(lora, LoraConfig)
        assert (lora.r, lora.lora_alpha, lora.target_modules) == (64, 128, "all-linear")


def test_one_command_selects_it():
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    command = exp_run_command(params, load_profile(REPO / "profiles/paper.yaml"))
    assert command[:3] == ["dvc", "exp", "run"]
    assert "model.base='mistralai/Mistral-7B-v0.1'" in command
    assert "+rounds.r6={prev: 'r5', mode: 'feedback'}" in command
    assert "~rounds.n1" in command  # the naive round is not part of the paper's comparison
