from __future__ import annotations

from streams.app import StateCodec
from streams.incidents import Slot


def test_table_values_round_trip_through_the_changelog_codec() -> None:
    codec = StateCodec()
    slot = Slot(plan="rainstorm", region="360121100001-G1", commands=["c1"])
    data = codec.loads(codec.dumps(slot))
    assert Slot.from_dict(data).to_dict() == slot.to_dict()
    assert codec.loads(codec.dumps({"plain": 1})) == {"plain": 1}
