"""Training curves as DVC plots: transformers' own DVCLive callback, writing into the folder
that dvc.yaml names for the stage, so `dvc plots show` draws every trainer's loss.

The callback gets a ``Live`` made here rather than the one it would make: in the repository
root with defaults, DVCLive would write ``dvclive/``, edit a ``dvc.yaml`` of its own and try to
save a DVC experiment from inside `dvc repro`. Here it only writes ``<folder>/plots/metrics``
(one TSV per logged figure: ``loss.tsv`` by step, ``eval/loss.tsv`` on held-out data, ...) and its summary.
"""
from __future__ import annotations


def curve_callbacks(folder: str | None) -> list:
    """``[DVCLiveCallback]`` logging into ``folder``; none when ``folder`` is None."""
    if folder is None:
        return []
    from dvclive import Live
    from transformers.integrations import DVCLiveCallback

    live = Live(dir=str(folder), save_dvc_exp=False, dvcyaml=None, report=None)
    return [DVCLiveCallback(live=live, log_model=False)]
