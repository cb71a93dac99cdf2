import os

import pytest

from ilr.io import DataFileError, atomic_path, read_records, write_jsonl


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
