"""GSM8K-convention answer extraction and grading, for the numbers people and models write.

The final answer is the first number after the first ``####`` (as the GSM8K reference grader
and lm-evaluation-harness read it: an output that goes on after its answer with a second
``####`` is graded on the first); without ``####``, the last number in the text. Numbers compare exactly, as canonical decimal strings (``"$1,200.00"`` -> ``"1200"``).

Read right:

- minus signs: ``-``, the typographic minus U+2212, en and figure dashes, small and fullwidth
  hyphen-minus, directly before the digits (``−7`` is -7); a dash between two numbers
  (``20–30``, ``5-3``) is not a sign;
- group separators: ``,`` (``1,234,567``, and Indian ``12,34,567``), space-like characters
  (no-break U+00A0, narrow no-break U+202F, thin U+2009, figure U+2007, ...), ``'``, ``’``,
  ``_``, the Arabic thousands separator, and ``.`` when it is followed by a decimal comma or
  repeated (``1.234.567``, ``1.234,5``); after ``####`` also a plain space (``#### 1 234``);
- decimals: ``1.5``, ``.5``, ``1 234,5`` (a decimal comma after other group separators),
  the Arabic decimal separator; exponents (``1.5e3``); fractions (``3/4`` is 0.75);
- digits of any script (Arabic-Indic, Devanagari, fullwidth, ...), currency symbols, ``%``.

Refused (:class:`NumberFormatError` from :func:`read_answer`; :func:`extract_answer` then
returns None, so the answer counts as missing, never as another number): a lone comma before
other than three digits (``1,5``: a decimal comma, or two numbers?), groups of the wrong size
(``1,23``, ``1.2.3``), mixed separators, superscript or circled digits (``10²``), a division
by zero, and a bare last number that may be the tail of a space-grouped one (``1 234``
without ``####``).
"""
from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

MINUS_SIGNS = "\u2212\u2012\u2013\ufe63\uff0d\u2796\u02d7"
GROUP_MARKS = "\u00a0\u2007\u2009\u202f\u205f\u2005\u2006\u2008'\u2019_\u066c"
CURRENCY = "$\u20ac\u00a3\u00a5\u20b9\u20a9\u20bd\u00a2\uff04"
MAX_EXPONENT = 100
PLAIN = "write it as plain digits, e.g. 1234.5 or 1,234.5"
UNREADABLE = "\ufffd"  # stands for a superscript or circled digit in the canonical text
_ASCII = {"\uff0c": ",", "\uff0e": ".", "\u066b": ".", "\uff05": "%"}

_TOKEN = re.compile(r"""
    (?<![A-Za-z0-9])
    (?P<sign>-)?
    (?:[""" + re.escape(CURRENCY) + r"""]\ ?(?P<sign2>-)?)?
    (?P<body>[0-9\ufffd]+(?:[_,.][0-9\ufffd]+)*|\.[0-9]+)
    (?P<exp>[eE][-+]?[0-9]+(?![A-Za-z]))?
    (?P<frac>(?:/[0-9\ufffd]+)+)?
""", re.X)
_SPACE_GROUPS = re.compile(r"(?<![\d_,.])(\d{1,3})((?: \d{3})+)(?!\d)")
_SPACE_GROUPED_TAIL = re.compile(r"(?<![\d_,.])\d{1,3} $")


class NumberFormatError(ValueError):
    """A number written in a way that cannot be read without guessing."""


def canonical_text(text: str) -> str:
    """``text`` with ASCII digits, ``-`` for minus signs, ``_`` for group separators other than
    ``,`` and ``.``, and a placeholder for digits that are not decimal (superscripts)."""
    out = []
    for ch in text:
        if ch.isascii():
            out.append(ch)
        elif ch in MINUS_SIGNS:
            out.append("-")
        elif ch in GROUP_MARKS:
            out.append("_")
        elif ch in _ASCII:
            out.append(_ASCII[ch])
        elif unicodedata.decimal(ch, None) is not None:
            out.append(str(unicodedata.decimal(ch)))
        elif unicodedata.category(ch) == "No":  # superscripts, circled digits, vulgar fractions
            out.append(UNREADABLE)
        else:
            out.append(ch)
    return "".join(out).replace("'", "_")


def _check_groups(groups: list[str], mark: str, token: str) -> None:
    sizes = [len(g) for g in groups]
    western = 1 <= sizes[0] <= 3 and all(s == 3 for s in sizes[1:])
    indian = mark == "," and 1 <= sizes[0] <= 2 and all(s == 2 for s in sizes[1:-1]) \
        and sizes[-1] == 3
    if not (western or indian):
        raise NumberFormatError(f"{token!r}: groups of {sizes} digits between {mark!r} are "
                                "neither thousands groups nor a decimal part; " + PLAIN)


def read_body(body: str, token: str) -> Decimal:
    """The value of a number's digits and separators (no sign): see the module notes."""
    if UNREADABLE in body:
        raise NumberFormatError(f"{token!r}: superscript or circled digits are not read; " + PLAIN)
    if body.startswith("."):
        return Decimal("0" + body)
    marks, groups = re.findall(r"[_,.]", body), re.split(r"[_,.]", body)
    if not marks:
        return Decimal(body)
    decimal = None
    if marks[-1] == "." and marks.count(".") == 1:
        decimal = "."
    elif marks[-1] == "," and marks.count(",") == 1 and len(marks) > 1 \
            and len(set(marks[:-1])) == 1:
        decimal = ","  # 1.234,5 or 1 234,5: the comma after other group marks is decimal
    elif marks == [","] and len(groups[1]) != 3:
        raise NumberFormatError(f"{token!r}: a comma before {len(groups[1])} digit(s) is a "
                                "decimal comma or a list of two numbers; write it with a point")
    if decimal:
        whole, fraction, marks = groups[:-1], groups[-1], marks[:-1]
    else:
        whole, fraction = groups, ""
    if len(set(marks)) > 1:
        raise NumberFormatError(f"{token!r}: mixed group separators {sorted(set(marks))}; " + PLAIN)
    if marks:
        _check_groups(whole, marks[0], token)
    return Decimal("".join(whole) + ("." + fraction if fraction else ""))


def read_number(token: str) -> str:
    """The canonical decimal string of one written number (``"−1 234,50 €"`` is not one token;
    ``"-1 234,50"`` is ``"-1234.5"``); raises :class:`NumberFormatError` when unreadable."""
    written = token.strip().rstrip("%").rstrip(".").strip()
    match = _TOKEN.fullmatch(canonical_text(written))
    if not match:
        raise NumberFormatError(f"{token!r}: not a number")
    return _value(match, written)


def _value(match: re.Match, written: str) -> str:
    """The canonical string of a token matched in ``canonical_text(written)``."""
    token = written[match.start():match.end()]  # canonical_text keeps every character's place
    value = read_body(match["body"], token)
    if match["exp"]:
        if abs(int(match["exp"][1:])) > MAX_EXPONENT:
            raise NumberFormatError(f"{token!r}: exponent beyond +-{MAX_EXPONENT}; " + PLAIN)
        value = value.scaleb(int(match["exp"][1:]))
    if match["frac"]:
        denominators = match["frac"].split("/")[1:]
        if len(denominators) > 1 or match["exp"] or not match["body"].isdigit():
            raise NumberFormatError(f"{token!r}: only a plain fraction like 3/4 is read; " + PLAIN)
        if UNREADABLE in denominators[0]:
            raise NumberFormatError(f"{token!r}: superscript or circled digits are not read; "
                                    + PLAIN)
        if int(denominators[0]) == 0:
            raise NumberFormatError(f"{token!r}: division by zero; " + PLAIN)
        value = value / Decimal(denominators[0])
    if bool(match["sign"]) != bool(match["sign2"]):
        value = -value
    return format_decimal(value)


def format_decimal(value: Decimal) -> str:
    """``"1200"`` for 1200.00, ``"0.75"``, ``"-7"``: no exponent, no trailing zeros."""
    if value == value.to_integral_value():
        return str(int(value))
    text = format(value.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def normalize_number(text: str) -> str | None:
    """Canonical string for a number as written (``"$1,200.00"`` -> ``"1200"``), else None."""
    try:
        return read_number(text)
    except (NumberFormatError, InvalidOperation):
        return None


def read_answer(text: str) -> str | None:
    """The canonical final answer of a worked solution, None when it has no number; raises
    :class:`NumberFormatError` when the final number cannot be read without guessing."""
    canonical = canonical_text(text)
    if "####" in canonical:
        start = canonical.index("####") + 4
        tail = _SPACE_GROUPS.sub(lambda m: m[1] + m[2].replace(" ", "_"), canonical[start:],
                                 count=1)
        match = _TOKEN.search(tail)
        if match:
            return _value(match, text[start:])
    matches = list(_TOKEN.finditer(canonical))
    if not matches:
        return None
    last = matches[-1]
    before = _SPACE_GROUPED_TAIL.search(canonical[:last.start()])
    if before and re.fullmatch(r"\d{3}", last.group()):
        raise NumberFormatError(f"{text[before.start():last.end()]!r}: one number grouped with "
                                "spaces, or two numbers? end the answer with '#### <number>'")
    return _value(last, text)


def extract_answer(text: str) -> str | None:
    """The normalised final answer of a worked solution, or None when it has no number or its
    number cannot be read without guessing (see :func:`read_answer`)."""
    try:
        return read_answer(text)
    except (NumberFormatError, InvalidOperation):
        return None


_FIRST_MARK = re.compile(r"^([^\n]*?)####([^\n]*)", re.M)


def final_line(text: str) -> str | None:
    """The rest of the line of the first ``####`` (stripped), when that ``####`` starts its
    line (after spaces), else None: the answer line the grader reads."""
    match = _FIRST_MARK.search(text)
    return match[2].strip() if match and not match[1].strip() else None


def has_final_answer(text: str) -> bool:
    """Strict: the first ``####`` starts a line and the number after it can be read. The lenient
    :func:`extract_answer` also takes the last number anywhere in the text, so nearly any text
    with a digit has an answer by that measure."""
    line = final_line(text)
    return bool(line) and extract_answer("#### " + line) is not None


def grade(prediction: str, gold: str) -> bool:
    """True when ``prediction``'s final answer exactly matches ``gold``'s."""
    want = extract_answer(gold)
    return want is not None and extract_answer(prediction) == want
