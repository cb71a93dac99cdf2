"""Reading a params file as YAML: the file's problems named, a key written twice refused."""
from __future__ import annotations

from pathlib import Path

import yaml

from ilr.core.params_section import ParamsError


class UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, except that a key written twice in one mapping is refused (YAML
    itself keeps the last one silently, so a section written twice loses half its settings)."""


def construct_unique_mapping(loader: UniqueKeyLoader, node, deep: bool = False) -> dict:
    first: dict = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        line = key_node.start_mark.line + 1
        try:
            seen = first.get(key)
        except TypeError:  # an unhashable key: construct_mapping names it
            continue
        if seen is not None:
            raise ParamsError(f"{line}: key {key!r} is written twice in one mapping (first "
                              f"on line {seen}); YAML would keep only the last, so merge the two")
        first[key] = line
    return loader.construct_mapping(node, deep=deep)


UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                                construct_unique_mapping)


def read_params_yaml(path: str | Path) -> dict:
    """The mapping a params file holds; a missing, unreadable or empty file, invalid YAML and a
    key written twice raise ParamsError naming the file (and the line)."""
    path = Path(path)
    try:
        data = yaml.load(path.read_text(encoding="utf-8-sig"), Loader=UniqueKeyLoader)
    except FileNotFoundError:
        raise ParamsError(f"{path}: params file not found") from None
    except IsADirectoryError:
        raise ParamsError(f"{path}: is a folder; --params takes a params.yaml file") from None
    except UnicodeDecodeError as e:
        raise ParamsError(f"{path}: not UTF-8 text (byte {e.start}); save it as UTF-8") from None
    except ParamsError as e:
        raise ParamsError(f"{path}:{e}") from None
    except yaml.YAMLError as e:
        raise ParamsError(f"{path}: not valid YAML ({e})") from None
    if not data:
        raise ParamsError(f"{path}: the params file is empty; it needs the sections of the "
                          "committed params.yaml (an empty file would run on silent defaults)")
    return data
