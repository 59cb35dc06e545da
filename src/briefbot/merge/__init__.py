"""The merger, pure and deterministic: a brief and a batch of typed edits in, a proposal out
(`merger`), each edit applied or rejected for a reason by the checks in `checks`; the proposal's
data model is `proposal`. Nothing here does I/O (the import contract in pyproject.toml says so)."""

from briefbot.merge.merger import CANDIDATE_STATE, merge
from briefbot.merge.whats_new import NO_NEW_FAULT_LINES

__all__ = ["CANDIDATE_STATE", "NO_NEW_FAULT_LINES", "merge"]
