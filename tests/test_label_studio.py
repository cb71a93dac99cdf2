"""Human judgments through a real Label Studio server (tests/label_studio.py): the tiny repo's
round r1 exported with `ilr judge export`, imported into a project over the API, annotated over
the API with planted choices and times, exported, `ilr judge import`ed, and `dvc repro
refine@r1` with `feedback.kind: file` replaces exactly the labels the annotations accepted; a
headless Chromium signs in and photographs a task's labeling page."""
import json
import struct

import yaml

from browser import chromium
from ilr.core.io import read_jsonl
from label_studio import Browser, Server, photograph_task
from tiny import GIT_USER, run


def _clone_with_round_inputs(tiny_repo, root):
    run(["git", "clone", "-q", str(tiny_repo), str(root)], tiny_repo.parent)
    run(["dvc", "cache", "dir", "--local", str(tiny_repo / ".dvc/cache")], root)
    # copies: a hardlink would add a link to the tiny repo's files (test_pipeline counts them)
    run(["dvc", "config", "--local", "cache.type", "copy"], root)
    run(["dvc", "checkout", "--with-deps", "refine@r1"], root)
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["feedback"]["kind"] = "file"
    params["refine"]["alpha"] = 1.0  # no cap: every accepted proposal replaces its label
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return root


def _annotation(letter: str, seconds: float) -> dict:
    return {"result": [{"from_name": "choice", "to_name": "question", "type": "choices",
                        "value": {"choices": [letter]}}], "lead_time": seconds}


def test_a_round_trip_through_label_studio_replaces_what_the_annotations_accepted(
        tiny_repo, tmp_path):
    root = _clone_with_round_inputs(tiny_repo, tmp_path / "repo")
    run(["ilr", "judge", "export", "refine@r1"], root)
    tasks = json.loads((root / "judge/refine@r1/tasks.json").read_text())
    assert len(tasks) >= 3, "the tiny round compares too few items to test anything"
    server = Server(tmp_path / "label-studio")
    try:
        config = (root / "judge/refine@r1/config.xml").read_text()
        project = server.api("POST", "/api/projects", {"title": "ilr refine@r1",
                                                       "label_config": config})["id"]
        server.api("POST", f"/api/projects/{project}/import", tasks)
        listed = server.api("GET", f"/api/tasks?project={project}&page_size=1000")["tasks"]
        assert sorted(t["data"]["id"] for t in listed) == sorted(t["data"]["id"] for t in tasks)
        first = min(listed, key=lambda t: t["id"])
        browser = Browser(chromium(), tmp_path / "chromium")
        try:
            shot = tmp_path / "task.png"
            answers = [first["data"][k].strip().splitlines()[0][:30] for k in ("answer_a", "answer_b")]
            seen, radios = photograph_task(server, browser, project, first["id"], shot,
                                           ["Answer (A)", "Answer (B)", *answers, "A", "B"])
        finally:
            browser.close()
        assert set(seen) == {"Answer (A)", "Answer (B)", *answers, "A", "B"} and radios >= 2
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", shot.read_bytes()[16:24])[0] >= 1000

        items = sorted(t["data"]["id"] for t in listed)
        accept = set(items[::2])  # planted: the proposal wins for every other item
        slow = items[0]  # accepted, but after 500 s: over the 120 s limit, so the label stays
        for k, task in enumerate(sorted(listed, key=lambda t: t["data"]["id"])):
            item, second = task["data"]["id"], task["data"]["second"]
            letter = "B" if (second == "proposal") == (item in accept) else "A"
            server.api("POST", f"/api/tasks/{task['id']}/annotations",
                       _annotation(letter, 500.0 if item == slow else 5.0 + k))
        export = server.api("GET", f"/api/projects/{project}/export?exportType=JSON")
    finally:
        server.stop()
    (root / "export.json").write_text(json.dumps(export))
    out = run(["ilr", "judge", "import", "refine@r1", "export.json"], root)
    assert f"{len(items)} judgment(s) -> inputs/judgments/r1.jsonl" in out
    lines = read_jsonl(root / "inputs/judgments/r1.jsonl")
    assert next(line for line in lines if line["id"] == slow)["chosen"] == "proposal"
    run(["dvc", "repro", "refine@r1"], root)
    audit = read_jsonl(root / "data/audit/r1.jsonl")
    assert sorted(a["id"] for a in audit) == items
    assert sorted(a["id"] for a in audit if a["accepted"]) == sorted(accept - {slow})
    judged = json.loads((root / "metrics/labels/r1.json").read_text())["judgments"]
    assert judged["n_judgments"] == len(items) and judged["n_over_limit"] == 1
    run(["git", *GIT_USER, "commit", "-qam", "human judgments for r1"], root)  # a clean commit
