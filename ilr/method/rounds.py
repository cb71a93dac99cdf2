"""The chain of label versions: r0 (the supervisor's labels) and the rounds that refine them."""
from __future__ import annotations

import re

ROUND_ZERO = "r0"  # the supervisor's labels, data/labels/r0.jsonl


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


def check_proposal_versions(rounds: dict, versions: list[str]) -> None:
    """``propose.versions`` lists each label version a round refines, once: the propose stage
    runs once per version, and the rounds with the same ``prev`` share its proposals."""
    if len(set(versions)) != len(versions):
        raise ValueError(f"propose.versions: {versions} lists a version twice")
    needed = list(dict.fromkeys(item.prev for item in rounds.values()))
    missing = [v for v in needed if v not in versions]
    if missing:
        raise ValueError(f"propose.versions: {versions} lacks {missing}, the prev of a round; "
                         f"set it to {needed}")
    unused = [v for v in versions if v not in needed and v != ROUND_ZERO]
    if unused:  # its propose stage would wait on labels no stage writes (a profile's rounds)
        raise ValueError(f"propose.versions: {versions} lists {unused}, which no round refines; "
                         f"set it to {needed or [ROUND_ZERO]}")


def produced_policies(rounds: dict, dpo_rounds: dict) -> list[str]:
    """The model folders a DPO round can start from: those some stage of dvc.yaml writes."""
    return ["models/base", "models/supervisor", "models/sft/gold", f"models/sft/{ROUND_ZERO}",
            *(f"models/sft/{name}" for name in rounds),
            *(f"models/dpo/{name}" for name in dpo_rounds)]


def check_dpo_policies(rounds: dict, dpo_rounds: dict) -> None:
    """Every ``dpo_rounds.<d>.policy`` is a model a stage produces, a round's name is free (its
    predictions share data/predictions/ with the ILR rounds'), and no DPO chain loops."""
    produced = produced_policies(rounds, dpo_rounds)
    for name, item in dpo_rounds.items():
        if not re.fullmatch(r"[A-Za-z0-9_]+", name) or name in (ROUND_ZERO, "gold", *rounds):
            raise ValueError(f"dpo_rounds.{name}: a DPO round name must be letters, digits or _ "
                             f"and not {ROUND_ZERO!r}, 'gold' or an ILR round ({sorted(rounds)}): "
                             "it names data/predictions/<name>.jsonl")
        policy = item.policy.strip().removeprefix("./").rstrip("/")
        if policy not in produced or policy == f"models/dpo/{name}":
            raise ValueError(f"dpo_rounds.{name}.policy: {item.policy!r} is not a model any "
                             f"stage produces; choose one of "
                             f"{[p for p in produced if p != f'models/dpo/{name}']}")
    for name in dpo_rounds:
        seen = set()
        while name in dpo_rounds:
            if name in seen:
                raise ValueError(f"dpo_rounds.{name}.policy: the DPO rounds {sorted(seen)} "
                                 "start from each other in a loop")
            seen.add(name)
            policy = dpo_rounds[name].policy.strip().removeprefix("./").rstrip("/")
            name = policy.removeprefix("models/dpo/") if policy.startswith("models/dpo/") else None
