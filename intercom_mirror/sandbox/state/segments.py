"""Segments: read-only lists, with member counts from state."""

from __future__ import annotations

from collections import Counter
from typing import Any

from ..records import Segment
from .base import WorkspaceBase, lookup


class SegmentsMixin(WorkspaceBase):
    """Segments: read-only lists, with member counts from state."""

    def render_segment(self, s: Segment, include_count: bool = False) -> dict[str, Any]:
        d = {
            "type": "segment",
            "id": s.id,
            "name": s.name,
            "created_at": s.created_at,
            "updated_at": s.updated_at,
            "person_type": s.person_type,
        }
        if include_count:
            d["count"] = self.segment_counts().get(s.id, 0)
        return d

    def get_segment(self, segment_id: str) -> Segment:
        return lookup(self.segments, segment_id, "Segment")

    def list_segments(self, company: bool = False) -> list[Segment]:
        return [s for s in self.segments.values() if (s.person_type == "company") == company]

    def segment_counts(self) -> dict[str, int]:
        """Return members per segment, counted from state (memoised until the next write)."""
        return self.cached(("segment_counts",), self._count_segments)

    def _count_segments(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for table in (self.users, self.leads, self.companies):
            for record in table.values():
                counts.update(record.segment_ids)
        return dict(counts)
