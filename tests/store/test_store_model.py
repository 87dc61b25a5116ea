"""A Hypothesis state machine drives the store with random appends and checks it against a plain model.

Appends go to a few streams with right, stale or no expected versions, fresh or repeated idempotency
keys; after every step the log, each stream and the chain must be what the model says.
"""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from kizuna.errors import ConflictError
from kizuna.store import EventStore, NewEvent, open_store

STREAMS = ["request:a", "request:b", "crisis:c"]


class StoreMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.directory = tempfile.TemporaryDirectory(prefix="kizuna-model-")
        self.store: EventStore = open_store(f"sqlite:///{Path(self.directory.name) / 's.db'}", listen=False)
        self.streams: dict[str, list[dict[str, int]]] = {s: [] for s in STREAMS}
        self.log: list[tuple[str, dict[str, int]]] = []
        self.keys: dict[str, tuple[str, int, int]] = {}  # key -> (stream, first seq, last seq)
        self.counter = itertools.count()

    def teardown(self) -> None:
        self.store.close()
        self.directory.cleanup()

    @rule(stream=st.sampled_from(STREAMS), count=st.integers(1, 3), stale=st.booleans(), keyed=st.booleans())
    def append(self, stream: str, count: int, stale: bool, keyed: bool) -> None:
        current = len(self.streams[stream])
        expected = current - 1 if stale and current > 0 else current
        payloads = [{"n": next(self.counter)} for _ in range(count)]
        key = f"k{next(self.counter)}" if keyed else None
        conflict: ConflictError | None = None
        try:
            written = self.store.append(
                stream, [NewEvent("e", p) for p in payloads], expected_version=expected, idempotency_key=key
            )
        except ConflictError as error:
            conflict = error
        assert (conflict is not None) == (expected != current)
        if conflict is not None:
            assert conflict.current == current
            return
        assert [e.version for e in written] == list(range(current + 1, current + count + 1))
        self.streams[stream] += payloads
        self.log += [(stream, p) for p in payloads]
        if key is not None:
            self.keys[key] = (stream, written[0].seq, written[-1].seq)

    @precondition(lambda self: bool(self.keys))
    @rule(data=st.data())
    def repeat_a_key(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(sorted(self.keys)))
        stream, first, last = self.keys[key]
        again = self.store.append(stream, [NewEvent("e", {"n": -1})], expected_version=0, idempotency_key=key)
        assert [e.seq for e in again] == list(range(first, last + 1))

    @invariant()
    def the_log_is_the_model(self) -> None:
        events = self.store.read_all()
        assert [(e.stream, dict(e.payload)) for e in events] == self.log
        assert [e.seq for e in events] == list(range(1, len(self.log) + 1))
        for stream, payloads in self.streams.items():
            assert [dict(e.payload) for e in self.store.read_stream(stream)] == payloads
        assert self.store.streams() == {s: len(p) for s, p in self.streams.items() if p}

    @invariant()
    def the_chain_verifies(self) -> None:
        assert self.store.verify().ok


StoreMachine.TestCase.settings = settings(max_examples=15, stateful_step_count=15, deadline=None)
TestStoreMachine = StoreMachine.TestCase
