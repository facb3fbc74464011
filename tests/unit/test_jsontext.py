"""The report's JSON writer gives exactly ``json.dumps(..., indent=2)``'s text, or its error."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slactl.render import jsontext

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=8),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.lists(inner, max_size=5).map(tuple),
        st.dictionaries(st.text(max_size=5), inner, max_size=5),
    ),
    max_leaves=40,
)


def _reference(obj: object) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False)


@settings(deadline=None, max_examples=400)
@given(st.one_of(st.dictionaries(st.text(max_size=5), documents, max_size=6), st.lists(documents, max_size=6)))
def test_same_text_as_the_standard_library(doc):
    assert jsontext.dumps(doc) == _reference(doc)


@pytest.mark.parametrize(
    "doc",
    [
        {"a": [1.0, math.nan]},
        {"a": {"b": [math.inf]}},
        {"a": {1: "non-string key, below a walked level"}},
        {"a": [object()]},
        [{"deep": [[[[]]]], "x": -0.0, "y": 1e300, "z": "é\u2028\"\\"}],
        {"f": 0.1, "i": 7, "t": True, "n": None, "s": "ü", "l": [0.5, {"g": 2.5}, [1e-7]]},
    ],
)
def test_unusual_values_give_the_standard_librarys_text_or_error(doc):
    try:
        want: object = _reference(doc)
    except (ValueError, TypeError) as exc:
        want = type(exc)
    try:
        got: object = jsontext.dumps(doc)
    except (ValueError, TypeError) as exc:
        got = type(exc)
    assert got == want
