"""Live-scoring RPCs: ScoreUtterance, StreamInteraction, EndInteraction (see issue: live scoring)."""

from __future__ import annotations


class LiveRpcs:
    """Mixed into VocServicer; until implemented the generated base answers UNIMPLEMENTED."""
