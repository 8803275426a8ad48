"""Hypothesis strategies shared by the fuzz tests: whatever JSON a device sends."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hypothesis import strategies as st

JSON_VALUES: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=20,
)


def records(field_names: Iterable[str]) -> st.SearchStrategy[dict[str, Any]]:
    """JSON objects whose keys are often the ones a parser looks for."""
    names = st.sampled_from(sorted(field_names)) | st.text(max_size=8)
    return st.dictionaries(names, JSON_VALUES, max_size=8)
