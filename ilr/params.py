"""One typed loader for ``params.yaml``: a dataclass per section, unknown keys rejected.

Training sections keep the libraries' own field names: ``sft.args`` are ``trl.SFTConfig``
fields and ``sft.lora`` are ``peft.LoraConfig`` fields (checked where they are built, in
``ilr.sft``), so a section reads like an alignment-handbook recipe.
"""
from __future__ import annotations

import dataclasses
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ilr.arith import ArithSpec
from ilr.sql_generator import SqlSpec

EMBEDDED_MODEL = "embedded:smollm2-135m-instruct"


class ParamsError(ValueError):
    """A params file that cannot be used; the message names the key and what is allowed."""


@dataclass(frozen=True)
class ModelParams:
    base: str = EMBEDDED_MODEL  # the embedded default, a hub id or a local folder
    save_dtype: str = "bfloat16"
    dtype: str = "float32"  # compute dtype: auto | float32 | bfloat16 (auto follows the hardware)
    # the weak supervisor's and the comparison classifier's base (hub id or folder); None: the
    # student's (models/base, converted from `base`)
    supervisor_base: typing.Optional[str] = None


@dataclass(frozen=True)
class Gsm8kParams:
    source: str = "openai/gsm8k"  # a folder of train/test.jsonl, a saved dataset, or a hub id
    config: str = "main"


@dataclass(frozen=True)
class BirdParams:
    """BIRD-format files: JSON lists of {question, SQL, db_id[, evidence]} and database folders
    of <db_id>/<db_id>.sqlite (train for the student and the supervisor, test for evaluation)."""
    train: typing.Optional[str] = None
    train_databases: typing.Optional[str] = None
    test: typing.Optional[str] = None  # BIRD's dev.json
    test_databases: typing.Optional[str] = None
    evidence: bool = True  # show BIRD's `evidence` hint after the question


@dataclass(frozen=True)
class SqlSandboxParams:
    """Limits on every query the sql task runs (ilr.sql_sandbox)."""
    timeout_s: float = 2.0
    max_rows: int = 10_000


@dataclass(frozen=True)
class SqlParams:
    source: str = "embedded"  # embedded (ilr.sql_generator) | bird
    embedded: SqlSpec = field(default_factory=SqlSpec)
    bird: BirdParams = field(default_factory=BirdParams)
    sandbox: SqlSandboxParams = field(default_factory=SqlSandboxParams)


@dataclass(frozen=True)
class TaskParams:
    name: str = "arith"
    system_prompt: str = "Solve the problem step by step, then give the final answer after ####."
    n_train: typing.Optional[int] = 400
    n_test: typing.Optional[int] = 200
    n_supervisor: int = 400  # gold half A: the weak supervisor's (and feedback model's) data
    arith: ArithSpec = field(default_factory=ArithSpec)
    gsm8k: Gsm8kParams = field(default_factory=Gsm8kParams)
    sql: SqlParams = field(default_factory=SqlParams)


@dataclass(frozen=True)
class SftParams:
    use_lora: bool = False
    args: dict = field(default_factory=dict)  # trl.SFTConfig fields
    lora: dict = field(default_factory=dict)  # peft.LoraConfig fields, used when use_lora


@dataclass(frozen=True)
class GenerationParams:
    batch_size: int = 32
    max_new_tokens: int = 128
    do_sample: bool = False
    temperature: float = 1.0
    top_p: float = 1.0


@dataclass(frozen=True)
class SupervisorParams:
    """The paper's weak supervisor: the base model fine-tuned on a part of gold half A."""
    n_train: int = 200
    args: dict = field(default_factory=dict)  # trl.SFTConfig fields
    use_lora: bool = False
    lora: dict = field(default_factory=dict)  # peft.LoraConfig fields, used when use_lora
    generation: GenerationParams = field(default_factory=GenerationParams)
    # how its checkpoints answer the held-back half A (the evaluator's material); the reference
    # code samples at temperature 0.6
    checkpoint_generation: GenerationParams = field(default_factory=lambda: GenerationParams(
        do_sample=True, temperature=0.6))


@dataclass(frozen=True)
class NoiseParams:
    error_rate: float = 0.4
    mix: dict = field(default_factory=lambda: {"slip": 1.0, "wrong_op": 1.0, "misread": 1.0})


@dataclass(frozen=True)
class FileParams:
    path: typing.Optional[str] = None


@dataclass(frozen=True)
class SuperviseParams:
    kind: str = "model"  # model | noise | file
    noise: NoiseParams = field(default_factory=NoiseParams)
    file: FileParams = field(default_factory=FileParams)


@dataclass(frozen=True)
class FeedbackModelParams:
    """The comparison classifier: pairs from gold and supervisor checkpoints' outputs on half A."""
    head: str = "classifier"  # classifier (2-way, asked in both orders) | reward (RewardTrainer)
    n_pairs: int = 160  # pairs sampled from every gold/right/wrong pair the outputs allow
    max_length: int = 384
    heldout_share: float = 0.1  # share of the prompts held out for early stopping and metrics
    early_stopping_patience: int = 1  # epochs without a lower held-out loss before stopping
    save_dtype: str = "float32"  # a bf16 save rounds most of a short fine-tune away
    args: dict = field(default_factory=dict)  # transformers.TrainingArguments fields


@dataclass(frozen=True)
class OracleParams:
    flip_rate: float = 0.0


@dataclass(frozen=True)
class FeedbackParams:
    kind: str = "classifier"  # classifier | oracle | file
    batch_size: int = 16
    n_check: int = 100  # items where gold decides, for metrics/feedback.json
    oracle: OracleParams = field(default_factory=OracleParams)
    file: FileParams = field(default_factory=FileParams)


@dataclass(frozen=True)
class RoundParams:
    """One refinement round: the label version it starts from and how it replaces labels."""
    prev: str = "r0"
    # feedback (ILR) | naive (the ablation: proposals replace, no feedback) | naive_reference
    # (the reference code's ablation: a random alpha share of all labels, no difference filter)
    mode: str = "feedback"


@dataclass(frozen=True)
class ProposeParams:
    """Cross-labeling: the two half models (the ``sft`` recipe) and how they write proposals."""
    generation: GenerationParams = field(default_factory=GenerationParams)


@dataclass(frozen=True)
class RefineParams:
    alpha: float = 0.15  # cap on replacements per round
    alpha_scope: str = "dataset"  # dataset (share of all labels) | compared (the reference code)


@dataclass(frozen=True)
class DpoRoundParams:
    """One DPO round: the policy it starts from (also its reference model)."""
    policy: str = "models/sft/r0"


@dataclass(frozen=True)
class DpoParams:
    """The SFT+DPO baseline: sampling, pair selection, and ``trl.DPOConfig`` fields in ``args``."""
    n_samples: int = 6  # per training prompt; consecutive samples are paired
    keep_share: float = 0.15  # the most confident share of the scored pairs
    generation: GenerationParams = field(default_factory=lambda: GenerationParams(
        do_sample=True, temperature=0.7))
    use_lora: bool = False
    args: dict = field(default_factory=dict)  # trl.DPOConfig fields (beta, loss_type, ...)
    lora: dict = field(default_factory=dict)  # peft.LoraConfig fields, used when use_lora
    # DPO's steps (lr 1e-6) are far below bfloat16's resolution: a bf16 save rounds 99% of the
    # weights back to the policy's, so DPO models are saved in float32 unless told otherwise.
    save_dtype: str = "float32"


@dataclass(frozen=True)
class KlParams:
    """KL from the round-0 SFT policy, sampled on test prompts (``ilr.kl``)."""
    n_prompts: int = 100
    generation: GenerationParams = field(default_factory=lambda: GenerationParams(
        do_sample=True, temperature=1.0))


@dataclass(frozen=True)
class QualityParams:
    """The data-quality gate every label version passes (``ilr.quality``)."""
    min_has_final_answer: float = 0.9  # share with a strict '#### <answer>' line; below: a warning
    min_response_chars: int = 1
    max_response_chars: int = 4000


@dataclass(frozen=True)
class EngineParams:
    """Which engine generates (``ilr.generation``): auto | transformers | vllm."""
    backend: str = "auto"  # auto: vllm where it imports and a CUDA GPU is present


@dataclass(frozen=True)
class LauncherParams:
    """How the training stages start: ``python`` (one process) or ``accelerate launch ...``."""
    train: str = "python"


@dataclass(frozen=True)
class Params:
    seed: int = 0
    model: ModelParams = field(default_factory=ModelParams)
    task: TaskParams = field(default_factory=TaskParams)
    sft: SftParams = field(default_factory=SftParams)
    evaluate: GenerationParams = field(default_factory=GenerationParams)
    supervisor: SupervisorParams = field(default_factory=SupervisorParams)
    supervise: SuperviseParams = field(default_factory=SuperviseParams)
    feedback_model: FeedbackModelParams = field(default_factory=FeedbackModelParams)
    feedback: FeedbackParams = field(default_factory=FeedbackParams)
    rounds: typing.Dict[str, RoundParams] = field(default_factory=dict)
    propose: ProposeParams = field(default_factory=ProposeParams)
    refine: RefineParams = field(default_factory=RefineParams)
    quality: QualityParams = field(default_factory=QualityParams)
    dpo_rounds: typing.Dict[str, DpoRoundParams] = field(default_factory=dict)
    dpo: DpoParams = field(default_factory=DpoParams)
    kl: KlParams = field(default_factory=KlParams)
    generation: EngineParams = field(default_factory=EngineParams)
    launcher: LauncherParams = field(default_factory=LauncherParams)

    def __post_init__(self):
        check_rounds(self.rounds)


ROUND_ZERO = "r0"  # the supervisor's labels, data/labels/r0.jsonl
ROUND_MODES = ("feedback", "naive", "naive_reference")


def check_rounds(rounds: dict) -> None:
    """Every round starts from r0 or another round, names are plain and no chain loops."""
    for name, item in rounds.items():
        if not re.fullmatch(r"[A-Za-z0-9_]+", name) or name in (ROUND_ZERO, "gold"):
            raise ValueError(f"rounds.{name}: a round name must be letters, digits or _ and not "
                             f"{ROUND_ZERO!r} or 'gold' (it names data/labels/<name>.jsonl)")
        if item.prev != ROUND_ZERO and item.prev not in rounds:
            raise ValueError(f"rounds.{name}.prev: {item.prev!r} is neither {ROUND_ZERO!r} nor a "
                             f"round; choose one of {[ROUND_ZERO, *rounds]}")
    for name in rounds:
        round_depth(rounds, name)


def round_depth(rounds: dict, name: str) -> int:
    """How many rounds lie between ``name`` and r0 (r1 after r0 is 1)."""
    depth, seen = 0, set()
    while name != ROUND_ZERO:
        if name in seen:
            raise ValueError(f"rounds.{name}.prev: the rounds {sorted(seen)} form a loop")
        seen.add(name)
        name, depth = rounds[name].prev, depth + 1
    return depth


_CHOICES = {"model.save_dtype": ("bfloat16", "float16", "float32"),
            "model.dtype": ("auto", "float32", "bfloat16"),
            "dpo.save_dtype": ("bfloat16", "float16", "float32"),
            "feedback_model.save_dtype": ("bfloat16", "float16", "float32"),
            "task.name": ("arith", "gsm8k", "sql"),
            "task.sql.source": ("embedded", "bird"),
            "supervise.kind": ("model", "noise", "file"),
            "feedback.kind": ("classifier", "oracle", "file"),
            "feedback_model.head": ("classifier", "reward"),
            "refine.alpha_scope": ("dataset", "compared"),
            "generation.backend": ("auto", "transformers", "vllm")}
_POSITIVE = {"task.n_train", "task.n_test", "task.n_supervisor", "evaluate.batch_size",
             "evaluate.max_new_tokens", "supervisor.n_train", "supervisor.generation.batch_size",
             "supervisor.generation.max_new_tokens", "feedback_model.n_pairs",
             "feedback_model.max_length", "feedback.batch_size", "feedback.n_check",
             "propose.generation.batch_size", "propose.generation.max_new_tokens",
             "quality.min_response_chars", "quality.max_response_chars", "dpo.n_samples",
             "dpo.generation.batch_size", "dpo.generation.max_new_tokens", "kl.n_prompts",
             "kl.generation.batch_size", "kl.generation.max_new_tokens",
             "task.sql.sandbox.timeout_s", "task.sql.sandbox.max_rows"}
_PROBABILITIES = {"supervise.noise.error_rate", "feedback.oracle.flip_rate",
                  "feedback_model.heldout_share",
                  "quality.min_has_final_answer"}


def _check_value(value, hint, key: str):
    origin = typing.get_origin(hint)
    if origin is typing.Union:  # Optional[x]
        if value is None:
            return None
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    if dataclasses.is_dataclass(hint):
        return build_section(hint, value, key)
    if origin is dict and dataclasses.is_dataclass(typing.get_args(hint)[1]):  # named sections
        if not isinstance(value, dict):
            raise ParamsError(f"{key}: expected a mapping of names to sections, got {value!r}")
        return {str(k): build_section(typing.get_args(hint)[1], v, f"{key}.{k}")
                for k, v in value.items()}
    expected = {int: (int,), float: (int, float), str: (str,), bool: (bool,),
                list: (list,), dict: (dict,)}[hint]
    if isinstance(value, bool) and hint is not bool or not isinstance(value, expected):
        raise ParamsError(f"{key}: expected {hint.__name__}, got {value!r}")
    if key in _CHOICES and value not in _CHOICES[key]:
        raise ParamsError(f"{key}: {value!r} is not allowed; choose one of {list(_CHOICES[key])}")
    if key in _POSITIVE and value <= 0:
        raise ParamsError(f"{key}: must be > 0, got {value!r}")
    if key in ("refine.alpha", "dpo.keep_share") and not 0 < value <= 1:
        raise ParamsError(f"{key}: must be in (0, 1] (a share), got {value!r}")
    if key.startswith("rounds.") and key.endswith(".mode") and value not in ROUND_MODES:
        raise ParamsError(f"{key}: {value!r} is not allowed; choose one of {list(ROUND_MODES)}")
    if key == "launcher.train" and value.split()[:1] != ["python"] and \
            value.split()[:2] != ["accelerate", "launch"]:
        raise ParamsError(f"launcher.train: {value!r} must be `python` or start with "
                          "`accelerate launch` (e.g. `accelerate launch --num_processes 2`)")
    if key in _PROBABILITIES and not 0 <= value <= 1:
        raise ParamsError(f"{key}: must be a probability in [0, 1], got {value!r}")
    return float(value) if hint is float else value


def build_section(cls, data, where: str = ""):
    """An instance of dataclass ``cls`` from a mapping; unknown keys and bad types raise."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ParamsError(f"{where or 'params'}: expected a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(data) - set(names))
    if unknown:
        prefix = f"{where}." if where else ""
        raise ParamsError(f"unknown key(s) {[prefix + k for k in unknown]}; "
                          f"allowed under {where or 'the top level'}: {names}")
    values = {k: _check_value(v, hints[k], f"{where}.{k}" if where else k)
              for k, v in data.items()}
    try:
        return cls(**values)
    except ValueError as e:
        raise ParamsError(str(e)) from None


class UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, except that a key written twice in one mapping is refused (YAML
    itself keeps the last one silently, so a section written twice loses half its settings)."""


def construct_unique_mapping(loader: UniqueKeyLoader, node, deep: bool = False) -> dict:
    first: dict = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        line = key_node.start_mark.line + 1
        try:
            seen = first.get(key)
        except TypeError:  # an unhashable key: construct_mapping names it
            continue
        if seen is not None:
            raise ParamsError(f"{line}: key {key!r} is written twice in one mapping (first "
                              f"on line {seen}); YAML would keep only the last, so merge the two")
        first[key] = line
    return loader.construct_mapping(node, deep=deep)


UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                                construct_unique_mapping)


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and check a params file; errors name the file and the key. A key written twice
    and an empty file are refused."""
    path = Path(path)
    try:
        data = yaml.load(path.read_text(encoding="utf-8-sig"), Loader=UniqueKeyLoader)
    except FileNotFoundError:
        raise ParamsError(f"{path}: params file not found") from None
    except IsADirectoryError:
        raise ParamsError(f"{path}: is a folder; --params takes a params.yaml file") from None
    except UnicodeDecodeError as e:
        raise ParamsError(f"{path}: not UTF-8 text (byte {e.start}); save it as UTF-8") from None
    except ParamsError as e:
        raise ParamsError(f"{path}:{e}") from None
    except yaml.YAMLError as e:
        raise ParamsError(f"{path}: not valid YAML ({e})") from None
    if not data:
        raise ParamsError(f"{path}: the params file is empty; it needs the sections of the "
                          "committed params.yaml (an empty file would run on silent defaults)")
    try:
        return build_section(Params, data)
    except ParamsError as e:
        raise ParamsError(f"{path}: {e}") from None
