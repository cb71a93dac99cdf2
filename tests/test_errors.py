"""ilr.core.errors: which errors a stage turns into one line, and how the line reads."""
import pytest

from ilr.core.errors import ModelLoadError, one_line, run_stage
from ilr.core.io import DataFileError
from ilr.measure.quality import QualityGateError


def _raising(error):
    def main(argv=None):
        raise error
    return main


@pytest.mark.parametrize("error,line", [
    (DataFileError("a.jsonl:3: missing field(s) ['id']"), "a.jsonl:3: missing field(s) ['id']"),
    (QualityGateError("r1.jsonl: label version 'r1' failed the quality gate:\n  expect_a(id): 2 unexpected\n"
                      "  expect_b(prompt): ids ['x']\nfix the file or the params; nothing was written"),
     "r1.jsonl: label version 'r1' failed the quality gate: expect_a(id): 2 unexpected; "
     "expect_b(prompt): ids ['x']; fix the file or the params; nothing was written"),
    (FileNotFoundError(2, "No such file or directory", "x.json"),
     "[Errno 2] No such file or directory: 'x.json'; check the path, its permissions and the free disk space"),
    (ModelLoadError("model.base: 'x': the folder lacks config.json"), "model.base: 'x': the folder lacks config.json"),
])
def test_refusals_are_one_line_with_exit_status_1(capsys, error, line):
    with pytest.raises(SystemExit) as caught:
        run_stage(_raising(error))
    assert caught.value.code == 1
    assert capsys.readouterr().err == f"test_errors: error: {line}\n"
    assert one_line(error) == line


def test_a_bug_keeps_its_traceback():
    with pytest.raises(KeyError):
        run_stage(_raising(KeyError("id")))
    with pytest.raises(ValueError):  # a ValueError raised outside ilr/ and stages/ is not a refusal
        run_stage(_raising(ValueError("bad")))


def test_ilr_debug_shows_the_traceback(monkeypatch):
    monkeypatch.setenv("ILR_DEBUG", "1")
    with pytest.raises(DataFileError):
        run_stage(_raising(DataFileError("a.jsonl:1: bad")))


def test_a_usage_error_exits_2_and_argparse_is_left_as_it_was(capsys):
    import argparse

    original = argparse.ArgumentParser.error

    def main(argv=None):
        parser = argparse.ArgumentParser()
        parser.add_argument("--out", required=True)
        parser.parse_args(argv)

    with pytest.raises(SystemExit) as caught:
        run_stage(main, [])
    assert caught.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        "test_errors: error: the following arguments are required: --out; "
        "see `python -m stages.test_errors --help`"]
    assert argparse.ArgumentParser.error is original
