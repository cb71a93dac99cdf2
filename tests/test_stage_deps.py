"""Every stage's code deps in dvc.yaml are exactly its stage script plus the script's `ilr`
import closure, so editing any module a stage runs makes `dvc status` list that stage."""
import ast
import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


def imported_modules(path: Path) -> set[Path]:
    """The `ilr` modules a file imports (module-level or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "ilr":
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names if a.name.split(".")[0] == "ilr"]
        found |= {REPO / (n.replace(".", "/") + ".py") for n in names}
    return {p for p in found if p.is_file() and p.name != "__init__.py"}


def import_closure(script: Path) -> set[str]:
    seen, todo = set(), [script]
    while todo:
        for module in imported_modules(todo.pop()) - seen:
            seen.add(module)
            todo.append(module)
    return {str(p.relative_to(REPO)) for p in seen}


STAGES = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]


@pytest.mark.parametrize("name", sorted(STAGES))
def test_code_deps_are_the_import_closure(name):
    body = STAGES[name].get("do", STAGES[name])
    script = re.search(r" -m stages\.(\w+)", body["cmd"]).group(1)
    declared = {d for d in body["deps"] if isinstance(d, str) and d.startswith(("ilr/", "stages/"))}
    expected = {f"stages/{script}.py"} | import_closure(REPO / f"stages/{script}.py")
    assert declared == expected, (f"{name}: missing {sorted(expected - declared)}, "
                                  f"extra {sorted(declared - expected)}")


def test_the_closure_follows_imports_inside_functions():
    assert "ilr/train/feedback_model.py" in import_closure(REPO / "stages/refine.py")  # a lazy import
    assert "ilr/tasks/grading.py" in import_closure(REPO / "stages/evaluate.py")
