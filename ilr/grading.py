"""GSM8K-convention answer extraction and grading.

The final answer is the number after the last ``####``; without one, the last number in the text.
Commas, ``$`` and a trailing ``.0`` are normalised away before an exact match.
"""
from __future__ import annotations

import re

_NUMBER = re.compile(r"-?\$?\s?\d[\d,]*(?:\.\d+)?|-?\$?\.\d+")


def normalize_number(text: str) -> str | None:
    """Canonical string for a number as written (``"$1,200.00"`` -> ``"1200"``), else None."""
    s = text.strip().replace(",", "").replace("$", "").replace(" ", "").rstrip(".")
    if not s:
        return None
    try:
        value = float(s)
    except ValueError:
        return None
    if value == int(value) and "e" not in s.lower():
        return str(int(value))
    return repr(value)


def extract_answer(text: str) -> str | None:
    """The normalised final answer of a worked solution, or None when it has no number."""
    if "####" in text:
        tail = text.rsplit("####", 1)[1]
        match = _NUMBER.search(tail)
        if match:
            return normalize_number(match.group())
    matches = _NUMBER.findall(text)
    return normalize_number(matches[-1]) if matches else None


def grade(prediction: str, gold: str) -> bool:
    """True when ``prediction``'s final answer exactly matches ``gold``'s."""
    want = extract_answer(gold)
    return want is not None and extract_answer(prediction) == want
