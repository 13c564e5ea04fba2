"""The consent flow's mark, written out (bridge/models.py): the same answers and the same stored rows as the
ORM's get_or_create."""

from __future__ import annotations

import pytest

from bridge.models import AnsweredConsent, _key, mark_answered, was_answered
from tests.fixtures.sql import stored, undone

pytestmark = pytest.mark.django_db

FLOWS = ["flow-a", "flow-b", "flow-a", "flöw-ü", "flow-b"]


def _orm(flow_id: str) -> bool:
    return AnsweredConsent.objects.get_or_create(flow=_key(flow_id))[1]


def test_it_marks_each_flow_once_as_the_orm_does():
    def look() -> list[tuple[object, ...]]:
        return [row[:1] for row in stored(AnsweredConsent, leave_out=("id",))]  # the flows, not the times

    written = undone(lambda: [mark_answered(f) for f in FLOWS], look)
    orm = undone(lambda: [_orm(f) for f in FLOWS], look)
    assert written == orm and written[0] == [True, True, False, True, False]
    mark_answered("flow-c")
    assert was_answered("flow-c") and not was_answered("flow-d")
