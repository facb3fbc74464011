"""``slactl init``'s config text: whatever a server's labels hold, the file means what init meant.

Label values are chosen by whoever can push a series.  The written file must
parse, have one service per candidate found (no more: a label must not add a
service), and each selector must read back with exactly the label's value,
for any text: line breaks of every class YAML knows, quotes, ``#``, braces.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

import promql_parser
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from slactl.app.starter import starter_config
from slactl.config import parse
from slactl.sources.prometheus.discovery import Found

NOW = datetime(2026, 12, 7, tzinfo=UTC)
URL = "http://prometheus.example:9090"
# The payload: a label that, written raw into a comment, became a service of its own.
INJECTION = "x\n  evil:\n    source: prom\n    availability:\n      probe: 'up{job=\"attacker\"}'\n  #"
BREAKS = ["\n", "\r", "\r\n", "\x85", "\u2028", "\u2029"]

nasty = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(["\n", "\r", "\x85", "\u2028", "\u2029", "'", '"', "\\", "#", "{", "}", ":", " ", "\t", "\x00", "\x1b", "-", "&", "*", "!"]),
    ),
    max_size=40,
)


def _probe(job: str, instance: str) -> Found:
    return Found("probe", job, "probe_success", tuple((k, v) for k, v in (("job", job), ("instance", instance)) if v))


def _matchers(selector: str) -> tuple[str | None, dict[str, tuple[str, str]]]:
    expr = promql_parser.parse(selector)
    assert isinstance(expr, promql_parser.VectorSelector), selector
    return expr.name, {m.name: (str(m.op).rsplit(".", 1)[-1], m.value) for m in expr.matchers.matchers}


def _load(text: str, tmp: Path):
    """The text as `slactl validate` reads the written file, and as plain YAML."""
    return parse(text, base_dir=tmp, source_file=str(tmp / "slactl.yaml")), yaml.safe_load(text)


def _check(found: list[Found], tmp: Path) -> None:
    text = starter_config(URL, found, NOW)
    cfg, raw = _load(text, tmp)
    assert len(cfg.services) == len(found) == len(raw["services"])
    for (_name, svc), f in zip(cfg.services.items(), found, strict=True):
        av = svc.availability
        if f.kind == "ratio":
            metric, matchers = _matchers(av.total)
            assert metric == f.metric and matchers == {k: ("Equal", v) for k, v in f.labels}
            metric, matchers = _matchers(av.errors)
            want = {k: ("Equal", v) for k, v in f.labels} | {f.code_label: ("Re", "5..")}
            assert metric == f.metric and matchers == want
            if f.histogram:
                assert _matchers(svc.latency.histogram) == (f.histogram, {k: ("Equal", v) for k, v in f.labels})
        else:
            metric, matchers = _matchers(av.probe)
            assert metric == f.metric and matchers == {k: ("Equal", v) for k, v in f.labels}


@pytest.mark.parametrize("brk", BREAKS)
def test_a_label_cannot_add_a_service(brk, tmp_path):
    payload = INJECTION.replace("\n", brk)
    found = [_probe("blackbox", payload), Found("probe", "node", "up", (("job", "node"),))]
    text = starter_config(URL, found, NOW)
    cfg, raw = _load(text, tmp_path)
    assert "evil" not in cfg.services and "evil" not in raw["services"]
    assert len(cfg.services) == 2
    _check(found, tmp_path)
    assert not any(line.strip().startswith("evil") for line in text.splitlines())
    assert all(ch not in text for ch in "\x85\u2028\u2029\r")


@settings(deadline=None, max_examples=300)
@given(
    st.lists(st.tuples(nasty, nasty), min_size=1, max_size=4),
    st.lists(nasty.filter(bool), max_size=3),
    st.lists(st.tuples(nasty, st.booleans()), max_size=3),
)
def test_any_label_text_reads_back_exactly(probes, ups, ratios):
    tmp = Path(tempfile.gettempdir())
    found = [_probe(job, instance) for job, instance in probes]
    found += [Found("probe", job, "up", (("job", job),)) for job in ups]
    found += [
        Found("ratio", job, "http_requests_total", (("job", job),) if job else (), "code", ("200", "503"),
              "http_request_duration_seconds_bucket" if hist else "")
        for job, hist in ratios
    ]  # fmt: skip
    _check(found, tmp)


def test_the_header_and_comments_are_one_line_each(tmp_path):
    found = [_probe("job\u2028x: 1", "t\x85evil: 2"), Found("probe", "a\rb: 3", "up", (("job", "a\rb: 3"),))]
    text = starter_config("http://user:secret@prom.example:9090", found, NOW)
    cfg, raw = _load(text, tmp_path)
    assert set(raw) == {"timezone", "store", "sources", "tiers", "latency_targets_seconds", "services"}
    assert len(cfg.services) == 2
    assert "secret" not in text.splitlines()[0]  # the comment names the server without its password
    assert cfg.sources["prom"].url == "http://user:secret@prom.example:9090"


def test_service_keys_yaml_would_read_as_other_types_are_quoted(tmp_path):
    found = [Found("probe", job, "up", (("job", job),)) for job in ("on", "null", "123", "0x1f", "yes", "api")]
    text = starter_config(URL, found, NOW)
    cfg, _ = _load(text, tmp_path)
    assert list(cfg.services) == ["on", "null", "123", "0x1f", "yes", "api"]
    assert "\n  api:\n" in text and '\n  "on":\n' in text
