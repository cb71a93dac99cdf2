"""One typed loader for ``params.yaml``: a pydantic model per section, unknown keys rejected.

The models' field defaults are the only defaults, and they equal what ``params.yaml`` sets
(tests/test_params.py compares the two). Training sections keep the libraries' own field
names: ``sft.args`` are ``trl.SFTConfig`` fields and ``sft.lora`` are ``peft.LoraConfig``
fields, kept as mappings and checked against the library's config class where they are built
(``ilr.train.sft.check_fields``), so a section reads like an alignment-handbook recipe.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Literal, Optional

from pydantic import Field, ValidationError, field_validator, model_validator

# ParamsError and build_section are imported from here by the stages and the tests
from ilr.core.params_section import (NonNegativeInt, ParamsError, PositiveFloat, PositiveInt,
                                Probability, Section,
                                Share, build_section, describe)
from ilr.core.params_yaml import read_params_yaml
from ilr.method.rounds import ROUND_ZERO, check_dpo_policies, check_proposal_versions, check_rounds
# the task sections live in ilr.core.params_task; imported from here by the stages and tests
from ilr.core.params_task import (BirdParams, Gsm8kParams, SafetyFilterParams,  # noqa: F401
                                  SafetyParams, SafetyTunedLlamasParams, SqlParams,
                                  SqlSandboxParams, TaskParams)

EMBEDDED_MODEL = "embedded:smollm2-135m-instruct"
SaveDtype = Literal["bfloat16", "float16", "float32"]


class ModelParams(Section):
    base: str = EMBEDDED_MODEL  # the embedded default, a hub id or a local folder
    save_dtype: SaveDtype = "bfloat16"
    # compute dtype (auto follows the hardware)
    dtype: Literal["auto", "float32", "bfloat16"] = "auto"
    # how the training stages compute (auto: the CPU path where there is no CUDA GPU)
    train_kernels: Literal["auto", "library"] = "auto"
    # the weak supervisor's and the comparison classifier's base (hub id or folder); None: the
    # student's (models/base, converted from `base`)
    supervisor_base: Optional[str] = None


class SftParams(Section):
    use_lora: bool = False
    args: dict = Field(default_factory=dict)  # trl.SFTConfig fields
    lora: dict = Field(default_factory=dict)  # peft.LoraConfig fields, used when use_lora


class GenerationParams(Section):
    batch_size: PositiveInt = 32
    max_new_tokens: PositiveInt = 96
    do_sample: bool = False
    temperature: float = 1.0
    top_p: float = 1.0


class SupervisorParams(Section):
    """The paper's weak supervisor: the base model fine-tuned on a part of gold half A."""
    n_train: PositiveInt = 200
    # keep the first k decoder layers of its base (embeddings, final norm and head kept): a
    # smaller model of the student's family (issue 30); None: every layer
    layers: Optional[PositiveInt] = None
    args: dict = Field(default_factory=dict)  # trl.SFTConfig fields
    use_lora: bool = False
    lora: dict = Field(default_factory=dict)  # peft.LoraConfig fields, used when use_lora
    generation: GenerationParams = Field(default_factory=GenerationParams)
    # how its checkpoints answer the held-back half A (the evaluator's material); the reference
    # code samples at temperature 0.6
    checkpoint_generation: GenerationParams = Field(default_factory=lambda: GenerationParams(
        do_sample=True, temperature=0.6))


class NoiseParams(Section):
    error_rate: Probability = 0.4
    mix: dict = Field(default_factory=lambda: {"slip": 1.0, "wrong_op": 1.0, "misread": 1.0})


# the user's files: fixed paths under inputs/, deps in dvc.yaml (inputs/README.md)
FIXED_FILES = {"supervise": "the demonstrations are read from inputs/labels.jsonl",
               "feedback": "the judgments are read from inputs/judgments/<stage>.jsonl (feedback.jsonl "
                           "for stage feedback, <round>.jsonl for refine@<round> and dpo_pairs@<round>)"}


def refuse_file_key(data, section: str):
    """A params file that still names a path for the user's file gets the path that replaced it."""
    if isinstance(data, dict) and "file" in data:
        raise ValueError(f"{section}.file: removed; {FIXED_FILES[section]}, a fixed path that "
                         f"DVC tracks (inputs/README.md): put the file there and delete "
                         f"{section}.file")
    return data


class SuperviseParams(Section):
    kind: Literal["model", "noise", "file"] = "model"  # file: inputs/labels.jsonl
    noise: NoiseParams = Field(default_factory=NoiseParams)

    @model_validator(mode="before")
    @classmethod
    def _fixed_file(cls, data):
        return refuse_file_key(data, "supervise")


class FeedbackModelParams(Section):
    """The comparison classifier: pairs from gold and supervisor checkpoints' outputs on half A."""
    # classifier (2-way, asked in both orders) | reward (RewardTrainer)
    head: Literal["classifier", "reward"] = "classifier"
    n_pairs: PositiveInt = 100  # pairs sampled from every gold/right/wrong pair the outputs allow
    max_length: PositiveInt = 384
    heldout_share: Probability = 0.1  # share of the prompts held out for early stopping and metrics
    early_stopping_patience: int = 1  # epochs without a lower held-out loss before stopping
    save_dtype: SaveDtype = "float32"  # a bf16 save rounds most of a short fine-tune away
    args: dict = Field(default_factory=dict)  # transformers.TrainingArguments fields


class OracleParams(Section):
    flip_rate: Probability = 0.2  # 0: the paper's oracle; 0.2: an 80%-accurate annotator


class HumanParams(Section):
    """Time-limited human judgments (``ilr judge``): the budget shown per comparison and the
    policy for a judgment over it."""
    time_limit_s: PositiveFloat = 120.0
    over_limit: Literal["keep_label", "use", "refuse"] = "keep_label"


class FeedbackParams(Section):
    # file: inputs/judgments/feedback.jsonl for stage feedback, inputs/judgments/<round>.jsonl
    # for refine@<round> and dpo_pairs@<round>
    kind: Literal["classifier", "oracle", "file"] = "oracle"
    batch_size: PositiveInt = 16
    n_check: PositiveInt = 100  # items where gold decides, for metrics/feedback.json
    oracle: OracleParams = Field(default_factory=OracleParams)
    human: HumanParams = Field(default_factory=HumanParams)

    @model_validator(mode="before")
    @classmethod
    def _fixed_file(cls, data):
        return refuse_file_key(data, "feedback")


# feedback (ILR) | naive (the ablation: proposals replace, no feedback) | naive_reference (the
# reference code's ablation: a random alpha share of all labels, no difference filter)
RoundMode = Literal["feedback", "naive", "naive_reference"]
ROUND_MODES = RoundMode.__args__


class RoundParams(Section):
    """One refinement round: the label version it starts from and how it replaces labels."""
    prev: str = ROUND_ZERO
    mode: RoundMode = "feedback"


class ProposeParams(Section):
    """Cross-labeling: the two half models (the ``sft`` recipe) and how they write proposals.
    ``versions``: the label versions proposals are made for, one stage each; every round's
    ``prev``, once (rounds refining the same labels share its proposals)."""
    versions: List[str] = Field(default_factory=lambda: [ROUND_ZERO])
    generation: GenerationParams = Field(default_factory=GenerationParams)


class RefineParams(Section):
    alpha: Share = 0.15  # cap on replacements per round
    # dataset (share of all labels) | compared (the reference code)
    alpha_scope: Literal["dataset", "compared"] = "dataset"


class DpoRoundParams(Section):
    """One DPO round: the policy it starts from (also its reference model)."""
    policy: str = "models/sft/r0"


class DpoParams(Section):
    """The SFT+DPO baseline: sampling, pair selection, and ``trl.DPOConfig`` fields in ``args``."""
    n_samples: PositiveInt = 6  # per training prompt; consecutive samples are paired
    keep_share: Share = 0.15  # the most confident share of the scored pairs
    generation: GenerationParams = Field(default_factory=lambda: GenerationParams(
        do_sample=True, temperature=0.7))
    use_lora: bool = False
    args: dict = Field(default_factory=dict)  # trl.DPOConfig fields (beta, loss_type, ...)
    lora: dict = Field(default_factory=dict)  # peft.LoraConfig fields, used when use_lora
    # DPO's steps (lr 1e-6) are far below bfloat16's resolution: a bf16 save rounds 99% of the
    # weights back to the policy's, so DPO models are saved in float32 unless told otherwise.
    save_dtype: SaveDtype = "float32"


class KlParams(Section):
    """KL from the round-0 SFT policy, sampled on test prompts (``ilr.measure.kl``)."""
    n_prompts: PositiveInt = 50
    generation: GenerationParams = Field(default_factory=lambda: GenerationParams(
        do_sample=True, temperature=1.0))


class QualityParams(Section):
    """The data-quality gate every label version passes (``ilr.measure.quality``)."""
    # share of labels with a strict `#### <answer>` final line; below it is a warning
    min_has_final_answer: Probability = 0.9
    min_response_chars: PositiveInt = 1
    max_response_chars: PositiveInt = 4000


class EngineParams(Section):
    """Which engine generates (``ilr.engines.generation``); auto: vllm where it imports and a CUDA GPU
    is present, transformers elsewhere."""
    backend: Literal["auto", "transformers", "vllm"] = "auto"


class LauncherParams(Section):
    """How the training stages start: ``python`` (one process) or ``accelerate launch ...``."""
    train: str = "python"

    @field_validator("train")
    @classmethod
    def _python_or_accelerate(cls, value: str) -> str:
        if value.split()[:1] != ["python"] and value.split()[:2] != ["accelerate", "launch"]:
            raise ValueError(f"launcher.train: {value!r} must be `python` or start with "
                             "`accelerate launch` (e.g. `accelerate launch --num_processes 2`)")
        return value


class Params(Section):
    seed: NonNegativeInt = 0
    seeds: List[NonNegativeInt] = Field(default_factory=list)  # further seeds: one seed_run each
    model: ModelParams = Field(default_factory=ModelParams)
    task: TaskParams = Field(default_factory=TaskParams)
    sft: SftParams = Field(default_factory=SftParams)
    evaluate: GenerationParams = Field(default_factory=GenerationParams)
    supervisor: SupervisorParams = Field(default_factory=SupervisorParams)
    supervise: SuperviseParams = Field(default_factory=SuperviseParams)
    feedback_model: FeedbackModelParams = Field(default_factory=FeedbackModelParams)
    feedback: FeedbackParams = Field(default_factory=FeedbackParams)
    rounds: Dict[str, RoundParams] = Field(default_factory=dict)
    propose: ProposeParams = Field(default_factory=ProposeParams)
    refine: RefineParams = Field(default_factory=RefineParams)
    quality: QualityParams = Field(default_factory=QualityParams)
    dpo_rounds: Dict[str, DpoRoundParams] = Field(default_factory=dict)
    dpo: DpoParams = Field(default_factory=DpoParams)
    kl: KlParams = Field(default_factory=KlParams)
    generation: EngineParams = Field(default_factory=EngineParams)
    launcher: LauncherParams = Field(default_factory=LauncherParams)

    @field_validator("rounds", "dpo_rounds", mode="before")
    @classmethod
    def _named_sections(cls, value):
        if not isinstance(value, dict):
            raise ValueError(f"expected a mapping of names to sections, got {value!r}")
        return {str(name): section for name, section in value.items()}

    @model_validator(mode="after")
    def _rounds_chain_from_r0(self):
        if len(set(self.seeds)) != len(self.seeds) or self.seed in self.seeds:
            raise ValueError(f"seeds: {self.seeds} must be distinct and leave out seed "
                             f"{self.seed}, the main run's")
        check_rounds(self.rounds)
        check_proposal_versions(self.rounds, self.propose.versions)
        check_dpo_policies(self.rounds, self.dpo_rounds)
        return self


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and check a params file; errors name the file and the key. A key written twice
    and an empty file are refused."""
    data = read_params_yaml(path)
    try:
        return Params.model_validate(data)
    except ValidationError as e:
        raise ParamsError(f"{Path(path)}: {describe(e, Params)}") from None
