"""File formats: JSONL records and JSON metrics, read with clear errors, written atomically.

Every writer goes through :func:`commit_outputs`: the data lands in temporary siblings, and
only when every output of the block is written are they all moved into place, so a killed or
failed stage leaves the previous set of outputs (or none), never half a file and never new
labels beside an old audit. Readers accept a UTF-8 byte-order mark and CRLF line ends, and
check the type of every known field (:data:`TEXT_FIELDS`) at the file edge.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterable, Iterator

# fields that are text wherever a reader requires them: the error names file, line and id
TEXT_FIELDS = ("prompt", "response", "proposal", "chosen", "rejected", "question", "answer",
               "choice", "better", "worse")
BOM = "\ufeff"


class DataFileError(ValueError):
    """A data file that cannot be used; the message names the file, the line and the fix."""


class StagedOutputs:
    """Outputs written to temporary siblings, to be moved into place together."""

    def __init__(self):
        self.staged: list[tuple[Path, Path, Path]] = []  # (temp folder, temp path, target)

    def path(self, target: str | os.PathLike) -> Path:
        """A temporary path (file or folder) that becomes ``target`` on commit."""
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp",
                                       dir=target.parent))
        self.staged.append((folder, folder / target.name, target))
        return folder / target.name

    def jsonl(self, target: str | os.PathLike, records: Iterable[dict]) -> None:
        with self.path(target).open("w", encoding="utf-8") as f:
            for record in records:
                f.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")

    def text(self, target: str | os.PathLike, text: str) -> None:
        self.path(target).write_text(text, encoding="utf-8")

    def json(self, target: str | os.PathLike, data: dict | list) -> None:
        self.path(target).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n",
                                     encoding="utf-8")

    def csv(self, target: str | os.PathLike, rows: list[dict], *, fields: list[str]) -> None:
        """A CSV with a header of ``fields`` (missing values left empty), for ``dvc plots``."""
        import csv

        with self.path(target).open("w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)

    def commit(self) -> None:
        """Move every staged output onto its target; if one move fails, put the previous
        outputs back, so the set stays whole. Under a distributed launch (``accelerate
        launch``, torchrun) only the main process (``RANK`` 0) commits: the other ranks hold
        the same trained model, and their copies are discarded."""
        if os.environ.get("RANK", "0") != "0":
            return
        moved: list[tuple[Path, Path | None]] = []
        try:
            for folder, staged, target in self.staged:
                backup = None
                if target.exists() or target.is_symlink():
                    backup = folder / f"{target.name}.previous"
                    os.replace(target, backup)
                moved.append((target, backup))
                os.replace(staged, target)
        except BaseException:
            for target, backup in reversed(moved):
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target, ignore_errors=True)
                elif target.exists() or target.is_symlink():
                    target.unlink()
                if backup is not None:
                    os.replace(backup, target)
            raise

    def discard(self) -> None:
        for folder, _, _ in self.staged:
            shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def commit_outputs() -> Iterator[StagedOutputs]:
    """Stage a stage's outputs; they replace the previous ones together when the block
    succeeds, and none of them does when it raises::

        with commit_outputs() as out:
            out.jsonl(args.out, labels)
            out.json(args.metrics, metrics)
    """
    outputs = StagedOutputs()
    try:
        yield outputs
        outputs.commit()
    finally:
        outputs.discard()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` if the block succeeds.

    Works for files and for folders (a model directory): the old target is replaced whole.
    """
    with commit_outputs() as outputs:
        yield outputs.path(path)


def read_jsonl(path: str | os.PathLike, *, required: Iterable[str] = (),
               allow_empty: bool = False) -> list[dict]:
    """Read a JSONL file of objects; every record must hold the ``required`` fields."""
    return [record for _, record in read_numbered(path, required=required,
                                                  allow_empty=allow_empty)]


def read_numbered(path: str | os.PathLike, *, required: Iterable[str] = (),
                  allow_empty: bool = False) -> list[tuple[int, dict]]:
    """``(line number, record)`` pairs of a JSONL file; blank lines are skipped."""
    return parse_numbered(read_text(path).split("\n"), source=str(path), required=required,
                          allow_empty=allow_empty)


def read_text(path: str | os.PathLike) -> str:
    """A UTF-8 text file (a byte-order mark is dropped); errors name the file and the line."""
    path = Path(path)
    if not path.is_file():
        raise DataFileError(f"{path}: file not found")
    data = path.read_bytes()
    try:
        return data.decode("utf-8").removeprefix(BOM)
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise DataFileError(f"{path}:{line}: not UTF-8 text (byte 0x{data[e.start]:02x} at "
                            f"offset {e.start}); save the file as UTF-8") from None


def json_type(value) -> str:
    """The JSON name of a value's type, for messages."""
    return ("null" if value is None else "boolean" if isinstance(value, bool) else
            "number" if isinstance(value, (int, float)) else "string" if isinstance(value, str)
            else "list" if isinstance(value, list) else "object")


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    keys = [k for k, _ in pairs]
    twice = sorted({k for k in keys if keys.count(k) > 1})
    if twice:
        raise DataFileError(f"key(s) {twice} appear twice in one object; keep one of each")
    return dict(pairs)


def parse_record(line: str, *, where: str):
    """One JSON value; a malformed line or a key written twice raises, naming ``where``."""
    try:
        return json.loads(line, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as e:
        raise DataFileError(f"{where}: malformed JSON ({e.msg}); "
                            "each line must be one JSON object") from None
    except DataFileError as e:
        raise DataFileError(f"{where}: {e}") from None


def parse_numbered(lines: Iterable[str], *, source: str, required: Iterable[str] = (),
                   allow_empty: bool = False) -> list[tuple[int, dict]]:
    """Parse JSONL lines; errors name ``source`` and the line. Required fields named in
    :data:`TEXT_FIELDS` must be strings."""
    required = tuple(required)
    records = []
    for lineno, line in enumerate(lines, start=1):
        if lineno == 1:
            line = line.removeprefix(BOM)
        if not line.strip():
            continue
        record = parse_record(line, where=f"{source}:{lineno}")
        if not isinstance(record, dict):
            raise DataFileError(f"{source}:{lineno}: expected a JSON object, "
                                f"got {json_type(record)}")
        missing = [k for k in required if k not in record]
        if missing:
            raise DataFileError(f"{source}:{lineno}: missing field(s) {missing}; "
                                f"each record needs {list(required)}")
        for key in required:
            if key in TEXT_FIELDS and not isinstance(record[key], str):
                who = f"id {record['id']!r}: " if "id" in record else ""
                raise DataFileError(f"{source}:{lineno}: {who}{key} must be a string, got "
                                    f"{json_type(record[key])} ({json.dumps(record[key])[:40]}); "
                                    "write it as text in double quotes")
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
    return [r for _, r in parse_numbered(text.split("\n"), source=source, required=required)]


def read_records(path: str | os.PathLike, *, required: Iterable[str] = ("id",),
                 allow_empty: bool = False) -> list[dict]:
    """Read JSONL records keyed by a unique ``id``."""
    return [record for _, record in read_numbered_records(path, required=required,
                                                          allow_empty=allow_empty)]


def read_numbered_records(path: str | os.PathLike, *, required: Iterable[str] = ("id",),
                          allow_empty: bool = False) -> list[tuple[int, dict]]:
    """``(line number, record)`` pairs of JSONL records keyed by a unique ``id``."""
    numbered = read_numbered(path, required=required, allow_empty=allow_empty)
    seen: dict = {}
    for lineno, record in numbered:
        key = record["id"]
        if not isinstance(key, (str, int)) or isinstance(key, bool):
            raise DataFileError(f"{path}:{lineno}: id must be a string or an integer, got {key!r}")
        if key in seen:
            raise DataFileError(f"{path}:{lineno}: duplicate id {key!r} (first on line "
                                f"{seen[key]}); ids must be unique")
        seen[key] = lineno
    return numbered


def write_jsonl(path: str | os.PathLike, records: Iterable[dict]) -> None:
    with commit_outputs() as out:
        out.jsonl(path, records)


def write_json(path: str | os.PathLike, data: dict) -> None:
    with commit_outputs() as out:
        out.json(path, data)


def read_json(path: str | os.PathLike) -> dict:
    """Read a JSON object (a metrics file)."""
    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError as e:
        raise DataFileError(f"{path}:{e.lineno}: malformed JSON ({e.msg})") from None
    if not isinstance(data, dict):
        raise DataFileError(f"{path}: expected a JSON object, got {json_type(data)}")
    return data


def read_csv(path: str | os.PathLike) -> list[dict]:
    """Rows of a CSV written by :func:`write_csv`, numbers as floats and empty cells as None;
    [] when the file is absent."""
    import csv

    def value(v):
        try:
            return float(v)
        except ValueError:
            return v or None

    if not Path(path).is_file():
        return []
    with open(path, newline="", encoding="utf-8") as f:
        return [{k: value(v) for k, v in row.items()} for row in csv.DictReader(f)]


def write_csv(path: str | os.PathLike, rows: list[dict], *, fields: list[str]) -> None:
    """A CSV with a header of ``fields`` (missing values left empty), for ``dvc plots``."""
    with commit_outputs() as out:
        out.csv(path, rows, fields=fields)
