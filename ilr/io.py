"""File formats: JSONL records and JSON metrics, read with clear errors, written atomically.

Every writer goes through :func:`atomic_path`: the data lands in a temporary sibling and is
renamed into place, so a killed stage leaves the previous file or none, never half a file.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterable, Iterator


class DataFileError(ValueError):
    """A data file that cannot be used; the message names the file, the line and the fix."""


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` if the block succeeds.

    Works for files and for folders (a model directory): the old target is replaced whole.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    target = tmp / path.name
    try:
        yield target
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        os.replace(target, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def read_jsonl(path: str | os.PathLike, *, required: Iterable[str] = (),
               allow_empty: bool = False) -> list[dict]:
    """Read a JSONL file of objects; every record must hold the ``required`` fields."""
    return [record for _, record in read_numbered(path, required=required,
                                                  allow_empty=allow_empty)]


def read_numbered(path: str | os.PathLike, *, required: Iterable[str] = (),
                  allow_empty: bool = False) -> list[tuple[int, dict]]:
    """``(line number, record)`` pairs of a JSONL file; blank lines are skipped."""
    path = Path(path)
    if not path.is_file():
        raise DataFileError(f"{path}: file not found")
    with path.open(encoding="utf-8") as f:
        return parse_numbered(f, source=str(path), required=required, allow_empty=allow_empty)


def parse_numbered(lines: Iterable[str], *, source: str, required: Iterable[str] = (),
                   allow_empty: bool = False) -> list[tuple[int, dict]]:
    """Parse JSONL lines; errors name ``source`` and the line."""
    required = tuple(required)
    records = []
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataFileError(f"{source}:{lineno}: malformed JSON ({e.msg}); "
                                "each line must be one JSON object") from None
        if not isinstance(record, dict):
            raise DataFileError(f"{source}:{lineno}: expected a JSON object, "
                                f"got {type(record).__name__}")
        missing = [k for k in required if k not in record]
        if missing:
            raise DataFileError(f"{source}:{lineno}: missing field(s) {missing}; "
                                f"each record needs {list(required)}")
        records.append((lineno, record))
    if not records and not allow_empty:
        raise DataFileError(f"{source}: empty file; expected one JSON object per line")
    return records


def read_records_at(path: str, *, rev: str | None = None, repo: str | None = None,
                    required: Iterable[str] = ("id",)) -> list[dict]:
    """JSONL records of ``path`` in the workspace, or at git revision ``rev`` through
    ``dvc.api`` (DVC-tracked outputs come from the cache, git-tracked files from git)."""
    if rev is None:
        return read_records(path, required=required)
    import dvc.api

    source = f"{path}@{rev}"
    try:
        text = dvc.api.read(path, rev=rev, repo=repo, mode="r", encoding="utf-8")
    except Exception as e:  # dvc raises many kinds: missing rev, path, cache
        raise DataFileError(f"{source}: cannot read it through dvc.api ({type(e).__name__}: "
                            f"{e}); check the revision and that the file was committed") from None
    return [r for _, r in parse_numbered(text.splitlines(), source=source, required=required)]


def read_records(path: str | os.PathLike, *, required: Iterable[str] = ("id",)) -> list[dict]:
    """Read JSONL records keyed by a unique ``id``."""
    numbered = read_numbered(path, required=required)
    seen: dict = {}
    for lineno, record in numbered:
        key = record["id"]
        if not isinstance(key, (str, int)) or isinstance(key, bool):
            raise DataFileError(f"{path}:{lineno}: id must be a string or an integer, got {key!r}")
        if key in seen:
            raise DataFileError(f"{path}:{lineno}: duplicate id {key!r} (first on line "
                                f"{seen[key]}); ids must be unique")
        seen[key] = lineno
    return [record for _, record in numbered]


def write_jsonl(path: str | os.PathLike, records: Iterable[dict]) -> None:
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")


def write_json(path: str | os.PathLike, data: dict) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def read_json(path: str | os.PathLike) -> dict:
    """Read a JSON object (a metrics file)."""
    path = Path(path)
    if not path.is_file():
        raise DataFileError(f"{path}: file not found")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise DataFileError(f"{path}:{e.lineno}: malformed JSON ({e.msg})") from None
    if not isinstance(data, dict):
        raise DataFileError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


def write_csv(path: str | os.PathLike, rows: list[dict], *, fields: list[str]) -> None:
    """A CSV with a header of ``fields`` (missing values left empty), for ``dvc plots``."""
    import csv

    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
