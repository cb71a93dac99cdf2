import os
from pathlib import Path

import pytest

from ilr.core.io import (DataFileError, atomic_path, commit_outputs, parse_numbered, read_json,
                    read_records, write_jsonl)


def test_roundtrip_and_stable_bytes(tmp_path):
    records = [{"id": "a", "x": 1}, {"id": "b", "x": "é"}]
    write_jsonl(tmp_path / "r.jsonl", records)
    first = (tmp_path / "r.jsonl").read_bytes()
    assert read_records(tmp_path / "r.jsonl") == records
    write_jsonl(tmp_path / "r.jsonl", records)
    assert (tmp_path / "r.jsonl").read_bytes() == first


@pytest.mark.parametrize("content,message", [
    ('{"id": "a"}\n{"id": \n', r"r.jsonl:2: malformed JSON"),
    ('{"id": "a"}\n[1, 2]\n', r"r.jsonl:2: expected a JSON object"),
    ('{"id": "a"}\n{"x": 1}\n', r"r.jsonl:2: missing field\(s\) \['id'\]"),
    ('{"id": "a"}\n\n{"id": "a"}\n', r"r.jsonl:3: duplicate id 'a' \(first on line 1\)"),
    ('{"id": ["a"]}\n', r"r.jsonl:1: id must be a string or an integer"),
    ("\n", r"r.jsonl: empty file"),
])
def test_bad_files_name_file_and_line(tmp_path, content, message):
    (tmp_path / "r.jsonl").write_text(content)
    with pytest.raises(DataFileError, match=message):
        read_records(tmp_path / "r.jsonl")


def test_failed_write_leaves_previous_file_and_no_temp(tmp_path):
    target = tmp_path / "out.jsonl"
    write_jsonl(target, [{"id": "old"}])
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert read_records(target) == [{"id": "old"}]
    assert os.listdir(tmp_path) == ["out.jsonl"]


def test_atomic_path_replaces_a_folder_whole(tmp_path):
    target = tmp_path / "model"
    target.mkdir()
    (target / "stale.bin").write_text("x")
    with atomic_path(target) as tmp:
        tmp.mkdir()
        (tmp / "new.bin").write_text("y")
    assert os.listdir(target) == ["new.bin"]


def test_a_byte_order_mark_and_crlf_are_read(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"id": "a", "response": "x"}\r\n{"id": "b", "response": "y"}\r\n')
    assert read_records(path, required=("id", "response")) == [
        {"id": "a", "response": "x"}, {"id": "b", "response": "y"}]
    metrics = tmp_path / "m.json"
    metrics.write_bytes(b'\xef\xbb\xbf{"accuracy": 0.5}\r\n')
    assert read_json(metrics) == {"accuracy": 0.5}


def test_a_line_separator_inside_a_string_is_not_a_line_break(tmp_path):
    records = [{"id": "a", "response": "one\u2028two\x85three"}]
    write_jsonl(tmp_path / "r.jsonl", records)
    assert read_records(tmp_path / "r.jsonl") == records
    text = (tmp_path / "r.jsonl").read_text(encoding="utf-8")
    assert [r for _, r in parse_numbered(text.split("\n"), source="x")] == records


@pytest.mark.parametrize("content,message", [
    (b'{"id": "a", "response": null}\n', r"r.jsonl:1: id 'a': response must be a string, got null"),
    (b'{"id": "a", "response": "x"}\n{"id": "b", "response": 42}\n',
     r"r.jsonl:2: id 'b': response must be a string, got number \(42\)"),
    (b'{"id": "a", "response": ["x"]}\n', r"r.jsonl:1: id 'a': response must be a string, got list"),
    (b'{"id": "a", "response": "x", "response": "y"}\n',
     r"r.jsonl:1: key\(s\) \['response'\] appear twice in one object"),
    (b'{"id": "a", "response": "caf\xe9"}\n', r"r.jsonl:1: not UTF-8 text \(byte 0xe9"),
    (b'{"id": "a", "response": "x"}\n\xef\xbb\xbf{"id": "b", "response": "y"}\n',
     r"r.jsonl:2: malformed JSON"),  # a BOM is only dropped at the start of the file
])
def test_wrong_types_and_encodings_name_file_line_and_id(tmp_path, content, message):
    (tmp_path / "r.jsonl").write_bytes(content)
    with pytest.raises(DataFileError, match=message) as caught:
        read_records(tmp_path / "r.jsonl", required=("id", "response"))
    assert "\n" not in str(caught.value)


def test_outputs_are_committed_together_or_not_at_all(tmp_path):
    paths = [tmp_path / "labels.jsonl", tmp_path / "audit.jsonl", tmp_path / "m.json"]
    with commit_outputs() as out:
        out.jsonl(paths[0], [{"id": "old"}])
        out.jsonl(paths[1], [{"id": "old-audit"}])
        out.json(paths[2], {"v": 1})
    before = [p.read_bytes() for p in paths]
    with pytest.raises(RuntimeError):
        with commit_outputs() as out:
            out.jsonl(paths[0], [{"id": "new"}])
            out.jsonl(paths[1], [{"id": "new-audit"}])
            raise RuntimeError("failed before the metrics")
    assert [p.read_bytes() for p in paths] == before
    assert sorted(os.listdir(tmp_path)) == ["audit.jsonl", "labels.jsonl", "m.json"]


def test_a_failed_move_puts_the_previous_set_back(tmp_path, monkeypatch):
    paths = [tmp_path / "a.json", tmp_path / "b.json", tmp_path / "c.json"]
    for p in paths:
        p.write_text("previous\n")
    real_replace, calls = os.replace, []

    def flaky_replace(src, dst):
        calls.append(Path(dst))
        if Path(dst) == paths[2] and calls.count(paths[2]) == 1:  # the new c.json, not the restore
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", flaky_replace)
    with pytest.raises(OSError, match="No space left"):
        with commit_outputs() as out:
            for p in paths:
                out.json(p, {"new": True})
    monkeypatch.setattr(os, "replace", real_replace)
    assert [p.read_text() for p in paths] == ["previous\n"] * 3
    assert sorted(os.listdir(tmp_path)) == ["a.json", "b.json", "c.json"]
    assert paths[0] in calls and paths[1] in calls  # the first two had really been moved in
