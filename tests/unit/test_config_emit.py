"""The emitter behind ``slactl init``: values from a server reach YAML and PromQL escaped, and read back.

A line break of any class YAML knows, a quote, a backslash or a control
character must come back as itself after YAML and PromQL read the text; a
metric name PromQL cannot select is refused with the reason, not written.
"""

from __future__ import annotations

import promql_parser
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from slactl.config.emit import Unwritable, one_line, promql_string, selector, yaml_scalar

BREAKS = ["\n", "\r", "\r\n", "\x85", "\u2028", "\u2029"]
nasty = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(["\n", "\r", "\x85", "\u2028", "\u2029", "'", '"', "\\", "#", "{", "}", ":", " ", "\t", "\x00", "\x1b", "-", "&", "*", "!"]),
    ),
    max_size=40,
)


def _matchers(text: str) -> tuple[str | None, dict[str, tuple[str, str]]]:
    expr = promql_parser.parse(text)
    assert isinstance(expr, promql_parser.VectorSelector), text
    return expr.name, {m.name: (str(m.op).rsplit(".", 1)[-1], m.value) for m in expr.matchers.matchers}


@settings(deadline=None, max_examples=300)
@given(nasty)
def test_yaml_scalar_and_promql_string_read_back(value):
    written = yaml_scalar(value)
    assert "\n" not in written and all(b not in written for b in BREAKS)
    assert yaml.safe_load(f"k: {written}  # a comment after it\n") == {"k": value}
    assert _matchers(f"up{{a={promql_string(value)}}}") == ("up", {"a": ("Equal", value)})
    shown = one_line(value, 30)
    assert len(shown) <= 30 and shown.isprintable()


@pytest.mark.parametrize(
    ("metric", "why"),
    [
        ("http.server.requests_total", "Prometheus 3 UTF-8 name"),
        ("1xx_requests_total", "starts with a digit"),
        ("inf", "PromQL keyword"),
        ("bool", "PromQL keyword"),
        ("", "no metric name"),
        ("up\x00", "not a classic PromQL name"),
    ],
)
def test_a_name_promql_cannot_select_is_refused_with_the_reason(metric, why):
    with pytest.raises(Unwritable, match=why):
        selector(metric, [("job", "=", "x")])


@settings(deadline=None, max_examples=200)
@given(nasty, nasty)
def test_a_selector_reads_back_with_every_value_it_was_built_from(job, instance):
    text = selector("probe_success", [("job", "=", job), ("instance", "=", instance), ("code", "=~", "5..")])
    assert _matchers(text) == ("probe_success", {"job": ("Equal", job), "instance": ("Equal", instance), "code": ("Re", "5..")})
