"""Trigger RPCs: ReportIssue, WatchTriggers, AckTrigger, ListTriggers (see issue: triggers)."""

from __future__ import annotations


class TriggerRpcs:
    """Mixed into VocServicer; until implemented the generated base answers UNIMPLEMENTED."""
