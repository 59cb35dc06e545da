"""Saved eval results (`.briefbot/eval/<when>-<fingerprint>.json`) and their comparison.

A result keeps every repeat's counts per night, not only averages: the comparison needs the
run-to-run spread, and a later metric can be computed from old counts. Two results are compared
metric by metric on the mean over repeats; a difference is marked only when it is larger than the
spread (max - min over repeats) of either side, so noise of a model at temperature is not read as
a change. With one repeat a side there is no spread to judge by, and the comparison says so.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError

from briefbot._fs import atomic_write
from briefbot.errors import ConfigError, NotFoundError
from briefbot.eval.score import HIGHER_IS_BETTER, NEUTRAL, Score
from briefbot.models import StrictModel

RESULTS_DIR = "eval"  # under the project's state folder (.briefbot/)


class EvalResult(StrictModel):
    format: Literal[1] = 1
    created_at: dt.datetime
    fingerprint: str
    setup: dict[str, Any]
    nights: list[str]
    # One entry per repeat: night name -> its counts.
    runs: list[dict[str, Score]] = Field(min_length=1)

    def overall(self, run: int) -> Score:
        total = Score(nights=0)
        for name in self.nights:
            total.add(self.runs[run][name], name=name)
        return total

    def figures(self, night: str | None = None) -> dict[str, list[float | None]]:
        """Metric -> its value in each repeat (of one night, or overall)."""
        out: dict[str, list[float | None]] = {}
        for n, run in enumerate(self.runs):
            score = self.overall(n) if night is None else run[night]
            for metric, value in score.figures().items():
                out.setdefault(metric, []).append(value)
        return out

    @property
    def failed(self) -> int:
        """Night runs that failed at the endpoint, over every repeat."""
        return sum(score.failed for run in self.runs for score in run.values())


def mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def spread(values: list[float | None]) -> float:
    known = [v for v in values if v is not None]
    return max(known) - min(known) if len(known) > 1 else 0.0


def results_dir(state_dir: Path) -> Path:
    return state_dir / RESULTS_DIR


def save(result: EvalResult, state_dir: Path) -> Path:
    stamp = result.created_at.strftime("%Y%m%dT%H%M%S%fZ")
    path = results_dir(state_dir) / f"{stamp}-{result.fingerprint}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, result.model_dump_json(indent=1) + "\n")
    return path


def load(name: str, state_dir: Path) -> tuple[Path, EvalResult]:
    """A saved result by path, or by a unique part of its file name in .briefbot/eval/ (its
    timestamp's prefix or its fingerprint)."""
    folder = results_dir(state_dir)
    path = Path(name)
    if not path.is_file():
        matches = sorted(folder.glob(f"*{name}*.json")) if folder.is_dir() else []
        if len(matches) != 1:
            known = sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []
            listed = ", ".join(known[-5:]) or "none saved yet"
            why = "matches several" if matches else "matches none"
            raise NotFoundError(f"eval result {name!r} {why} in {folder} (latest: {listed})")
        path = matches[0]
    try:
        return path, EvalResult.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        loc = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ConfigError(f"{path}: not an eval result: {loc}: {first['msg']}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None


class Row(StrictModel):
    scope: str  # "overall" or a night's name
    metric: str
    a: float | None
    b: float | None
    spread: float
    marked: bool  # the difference exceeds the run-to-run spread
    better: Literal["a", "b"] | None = None


def compare(a: EvalResult, b: EvalResult) -> list[Row]:
    """Every metric overall, then each night both results ran, A beside B."""
    rows: list[Row] = []
    scopes: list[str | None] = [None, *[n for n in a.nights if n in b.nights]]
    for scope in scopes:
        fa, fb = a.figures(scope), b.figures(scope)
        for metric in fa:
            va, vb = mean(fa[metric]), mean(fb.get(metric, []))
            width = max(spread(fa[metric]), spread(fb.get(metric, [])))
            marked = va is not None and vb is not None and abs(va - vb) > width + 1e-9
            better: Literal["a", "b"] | None = None
            if marked and metric not in NEUTRAL and va is not None and vb is not None:
                a_higher = va > vb
                better = "a" if a_higher == (metric in HIGHER_IS_BETTER) else "b"
            rows.append(
                Row(
                    scope=scope or "overall",
                    metric=metric,
                    a=va,
                    b=vb,
                    spread=width,
                    marked=marked,
                    better=better,
                )
            )
    return rows
