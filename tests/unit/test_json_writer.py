"""Every JSON document is written by ``render.jsonout.to_json``: the standard library's document, faster.

The text may spell a float's exponent differently from ``json.dumps`` (``1e-7``
for ``1e-07``), so documents are compared parsed; strings, layout, key order and
the trailing newline are compared as text.  NaN, infinity and values JSON has no
type for are refused, never written as ``null`` or a string.
"""

from __future__ import annotations

import json
import math
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from kits.paths import ROOT

from slactl.errors import DataError
from slactl.render.jsonout import to_json

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
        st.dictionaries(st.text(alphabet=st.characters(codec="utf-8"), max_size=5), inner, max_size=5),
    ),
    max_leaves=40,
)


def _reference(obj: object) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


@settings(deadline=None, max_examples=400)
@given(documents)
def test_same_document_as_the_standard_library(doc):
    out = to_json(doc)
    assert json.loads(out) == json.loads(_reference(doc))
    assert out.endswith(b"\n") and not out.endswith(b"\n\n")
    assert to_json(doc) == out  # deterministic


@settings(deadline=None, max_examples=200)
@given(documents)
def test_same_text_as_the_standard_library_without_floats_in_exponent_form(doc):
    assume(not any(type(x) is float and "e" in repr(x) for x in _leaves(doc)))
    assert to_json(doc).decode("utf-8") == _reference(doc)


def _leaves(doc):
    if isinstance(doc, dict):
        for v in doc.values():
            yield from _leaves(v)
    elif isinstance(doc, (list, tuple)):
        for v in doc:
            yield from _leaves(v)
    else:
        yield doc


def test_text_is_utf8_escaped_only_where_json_must():
    every_control = "".join(chr(c) for c in range(0x20))
    doc = {"ü é ß": ["Zürich – 東京 🚀", '"quoted" \\ back', "\u2028\u2029\x7f", every_control]}
    assert to_json(doc) == _reference(doc).encode("utf-8")
    assert "Zürich – 東京 🚀".encode() in to_json(doc)


def test_layout_key_order_and_numbers():
    doc = {"z": 1, "a": {"empty": {}, "none": [], "nested": [[], {}, [1]]}, "m": [1.0, 0.5, -0.0, 10**20, True, None]}
    assert to_json(doc).decode() == _reference(doc)
    assert list(json.loads(to_json(doc))) == ["z", "a", "m"]


def test_exponents_are_the_same_numbers():
    doc = [1e-05, 1e-07, 1e16, 1e300, 5e-324, 1.7976931348623157e308, 123456789012345678.0]
    assert json.loads(to_json(doc)) == doc


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_floats_are_refused_with_their_path(bad):
    doc = {"services": {"api": {"uptime_percent": 99.9, "daily": [{"uptime_percent": bad}]}}}
    with pytest.raises(DataError, match=r"\$\.services\.api\.daily\[0\]\.uptime_percent is (nan|inf|-inf)"):
        to_json(doc)
    with pytest.raises(DataError):
        to_json(bad)
    with pytest.raises(DataError):
        to_json([1, (2, [bad])])


@pytest.mark.parametrize("value", [Decimal("1.50"), date(2026, 1, 1), {1, 2}, object()])
def test_values_json_has_no_type_for_are_refused(value):
    with pytest.raises(DataError, match=r"\$\.credit\.amount is a "):
        to_json({"credit": {"amount": value}})


def test_checked_in_documents_are_written_back_byte_for_byte():
    goldens = sorted((ROOT / "reports").rglob("*.json"))
    assert goldens
    for path in goldens:
        text = path.read_bytes()
        assert to_json(json.loads(text)) == text, path.name
