"""ilr.core.phases: nothing without ILR_PHASES_FILE; with it, exclusive phase times as JSON lines."""
import json
import subprocess
import sys
import time

from ilr.core import phases


def test_without_the_variable_nothing_is_recorded(monkeypatch, tmp_path):
    monkeypatch.delenv("ILR_PHASES_FILE", raising=False)
    with phases.phase("load"):
        pass
    assert not phases._stack and list(tmp_path.iterdir()) == []


def test_a_stage_process_records_startup_exclusive_phases_and_total(tmp_path):
    out = tmp_path / "phases.jsonl"
    code = ("import time\nfrom ilr.core.phases import phase\n"
            "with phase('compute'):\n"
            "    time.sleep(0.2)\n"
            "    with phase('load'):\n"
            "        time.sleep(0.3)\n"
            "with phase('save'):\n"
            "    pass\n")
    start = time.time()
    subprocess.run([sys.executable, "-c", code], check=True, env={
        **__import__("os").environ, "ILR_PHASES_FILE": str(out), "ILR_PHASES_STAGE": "sft@gold"})
    wall = time.time() - start
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["phase"] for r in records] == ["startup", "load", "compute", "save", "total"]
    assert {r["stage"] for r in records} == {"sft@gold"}
    seconds = {r["phase"]: r["seconds"] for r in records}
    assert 0.3 <= seconds["load"] < 0.5 and 0.2 <= seconds["compute"] < 0.3  # load taken out
    assert 0 < seconds["startup"] < wall and seconds["total"] <= wall + 0.03
    assert sum(seconds[p] for p in ("startup", "load", "compute", "save")) <= seconds["total"]
