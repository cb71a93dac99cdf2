"""Params profiles: a YAML file of overrides turned into one `dvc exp run -S ...` command.

A profile has two sections:

    params:    leaf-by-leaf overrides, merged into params.yaml (`task: {n_train: 8}` sets one key)
    replace:   whole sections that the profile declares exactly (`rounds`, `dpo_rounds`): keys of
               params.yaml that the profile does not list are removed

`overrides` turns a profile into the Hydra override strings that `dvc exp run -S` takes
(`task.n_train=8`, `+rounds.n1={prev: 'r0', mode: 'naive'}`, `~rounds.r3`), computed against
the current params so that only what differs is set. `apply_profile` is the same change on a
dict, for callers that write a params file themselves (the end-to-end test fixture).
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

QUICK = Path("profiles/quick.yaml")
_MISSING = object()
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


class ProfileError(ValueError):
    """A profile that cannot be turned into `dvc exp run` overrides."""


@dataclass(frozen=True)
class Profile:
    path: str
    params: dict = field(default_factory=dict)
    replace: dict = field(default_factory=dict)
    description: str = ""


def load_profile(path: str | Path = QUICK) -> Profile:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ProfileError(f"{path}: profile not found") from None
    except yaml.YAMLError as e:
        raise ProfileError(f"{path}: not valid YAML: {e}") from None
    unknown = set(data) - {"params", "replace", "description"}
    if unknown:
        raise ProfileError(f"{path}: unknown sections {sorted(unknown)}; "
                           "allowed: ['description', 'params', 'replace']")
    for section in ("params", "replace"):
        if not isinstance(data.get(section) or {}, dict):
            raise ProfileError(f"{path}: `{section}` must be a mapping")
    return Profile(path=str(path), params=data.get("params") or {},
                   replace=data.get("replace") or {}, description=data.get("description") or "")


def apply_profile(params: dict, profile: Profile) -> dict:
    """A copy of ``params`` with the profile applied (what `dvc exp run` writes to params.yaml)."""
    out = copy.deepcopy(params)

    def merge(into: dict, new: dict):
        for key, value in new.items():
            if isinstance(value, dict) and isinstance(into.get(key), dict):
                merge(into[key], value)
            else:
                into[key] = copy.deepcopy(value)

    merge(out, profile.params)
    for key, value in profile.replace.items():
        out[key] = copy.deepcopy(value)
    return out


def format_value(value, where: str = "") -> str:
    """A Python value in Hydra's override grammar (strings always quoted)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        if "e" in text or "inf" in text or "nan" in text:
            # dvc writes the parsed float back with repr ('1e-06'), which PyYAML reads as a string
            raise ProfileError(f"{where}: {value!r} would be written back as {text!r}, which YAML 1.1 "
                               "loaders read as a string; set it in params.yaml instead")
        return text
    if isinstance(value, str):
        if "'" not in value and "\\" not in value:
            return f"'{value}'"
        if '"' not in value and "\\" not in value:
            return f'"{value}"'
        raise ProfileError(f"{where}: {value!r} mixes quotes or backslashes; not supported")
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_value(v, where) for v in value) + "]"
    if isinstance(value, dict):
        for key in value:
            _check_key(key, where)
        return "{" + ", ".join(f"{k}: {format_value(v, f'{where}.{k}')}" for k, v in value.items()) + "}"
    raise ProfileError(f"{where}: {type(value).__name__} values are not supported")


def _check_key(key, where: str):
    if not isinstance(key, str) or not _KEY.match(key):
        raise ProfileError(f"{where}: key {key!r} is not a plain name (letters, digits, _ and -)")


def _same(a, b) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def _set(out: list[str], current, target, path: str, *, exact: bool):
    """Append the overrides that turn ``current`` into ``target`` at ``path``: leaf by leaf,
    and with ``exact`` also removing keys that ``target`` does not have."""
    if isinstance(target, dict) and isinstance(current, dict):
        if exact:
            out.extend(f"~{path}.{key}" for key in current if key not in target)
        for key, value in target.items():
            _check_key(key, path)
            _set(out, current.get(key, _MISSING), value, f"{path}.{key}", exact=exact)
    elif current is _MISSING:
        out.append(f"+{path}={format_value(target, path)}")
    elif _same(current, target):
        return
    elif isinstance(current, dict) or isinstance(target, dict):
        out.extend([f"~{path}", f"+{path}={format_value(target, path)}"])
    else:
        out.append(f"{path}={format_value(target, path)}")


def overrides(params: dict, profile: Profile) -> list[str]:
    """The `dvc exp run -S` values that turn ``params`` into ``apply_profile(params, profile)``."""
    out: list[str] = []
    for key, value in profile.params.items():
        _check_key(key, profile.path)
        _set(out, params.get(key, _MISSING), value, key, exact=False)
    for key, value in profile.replace.items():
        _check_key(key, profile.path)
        _set(out, params.get(key, _MISSING), value, key, exact=True)
    return out


def exp_run_command(params: dict, profile: Profile, *, name: str | None = None) -> list[str]:
    """`dvc exp run` in the workspace with the profile's params set."""
    command = ["dvc", "exp", "run"]
    if name:
        command += ["--name", name]
    for value in overrides(params, profile):
        command += ["-S", value]
    return command


def checked_exp_run_command(params_path: str | Path, profile_path: str | Path, *,
                            name: str | None = None) -> list[str]:
    """`exp_run_command` for the profile at ``profile_path`` against the params file, refused
    (a ProfileError naming the profile) when the params it would write do not load: a bad
    profile stops before any compute."""
    import tempfile

    from ilr.core.params import ParamsError, load_params

    profile = load_profile(profile_path)
    current = yaml.safe_load(Path(params_path).read_text(encoding="utf-8"))
    try:
        command = exp_run_command(current, profile, name=name)
        with tempfile.TemporaryDirectory() as tmp:
            merged = Path(tmp) / "params.yaml"
            merged.write_text(yaml.safe_dump(apply_profile(current, profile), sort_keys=False))
            load_params(merged)
    except (ProfileError, ParamsError) as e:
        raise ProfileError(f"{profile_path}: {e}") from None
    return command
