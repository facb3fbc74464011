"""The configuration reference and the JSON Schema, both generated from the models.

``slactl config docs`` writes ``docs/configuration.md`` and ``slactl config
schema`` the schema editors use (yaml-language-server).  Keys, types,
constraints and defaults are read from :mod:`slactl.config.models`; only the
prose comes from :mod:`slactl.config.docs`.  A test regenerates both and
compares, so the documentation cannot drift from what ``load`` accepts.
"""

from __future__ import annotations

import builtins
import json
import re
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types as at
import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from slactl.config.docs import DOCS
from slactl.config.models import Config, MetricSpec


@dataclass(frozen=True)
class Row:
    section: str  # top-level key the row belongs to
    path: str  # as shown: sources.<name>.url
    key: str  # as looked up in DOCS: sources.*.url
    type: str
    default: str
    note: str  # e.g. "type: prometheus only"
    owner: builtins.type[BaseModel]  # builtins.: the field ``type`` above shadows it here
    field: str

    @property
    def description(self) -> str:
        return _lookup(self.key)[0]

    @property
    def example(self) -> str:
        example = _lookup(self.key)[1]
        return example or (self.default if self.default not in ("required", "—") else "")


def _lookup(key: str) -> tuple[str, str]:
    """The entry of ``key``; ``*`` in an entry matches any one name (``publish.*.dir``)."""
    if key in DOCS:
        return DOCS[key]
    for pattern, entry in DOCS.items():
        if "*" in pattern and re.fullmatch(re.escape(pattern).replace(r"\*", r"[^.\[]+"), key):
            return entry
    return "", ""


def _members(tp: Any) -> list[Any]:
    """The types an annotation stands for, without None, Annotated or unions."""
    origin = get_origin(tp)
    if origin is typing.Annotated:
        return _members(get_args(tp)[0])
    if origin in (Union, types.UnionType):
        return [m for arg in get_args(tp) for m in _members(arg) if m is not type(None)]
    return [tp]


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _type_name(tp: Any) -> str:
    members = _members(tp)
    if len(members) > 1:
        if str in members and any(_is_model(m) for m in members):
            return "selector or metric spec"
        return " or ".join(dict.fromkeys(_type_name(m) for m in members))
    tp = members[0]
    origin = get_origin(tp)
    if origin is Literal:
        return " \\| ".join(f"`{v}`" for v in get_args(tp))
    if origin is list:
        return f"list of {_type_name(get_args(tp)[0])}"
    if origin is dict:
        return f"mapping of name → {_type_name(get_args(tp)[1])}"
    if tp is MetricSpec:
        return "metric spec"
    if _is_model(tp):
        return "mapping"
    names = {str: "string", int: "integer", float: "number", bool: "boolean", Decimal: "decimal",
             datetime: "date-time", Path: "path"}  # fmt: skip
    return names.get(tp, getattr(tp, "__name__", str(tp)))


def _constraints(field: FieldInfo) -> str:
    signs = {at.Gt: (">", "gt"), at.Ge: ("≥", "ge"), at.Lt: ("<", "lt"), at.Le: ("≤", "le")}
    parts = []
    for meta in field.metadata:
        for cls, (sign, attr) in signs.items():
            if isinstance(meta, cls):
                parts.append(f"{sign} {getattr(meta, attr)}")
    return f" ({', '.join(parts)})" if parts else ""


def _flow(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True, width=10_000, sort_keys=False).strip().removesuffix("...").strip()


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value = field.default_factory() if field.default_factory is not None else field.default  # type: ignore[call-arg]
    if value is None:
        return "—"
    if isinstance(value, BaseModel):
        try:
            if value == type(value)():
                return "—"
        except Exception:  # noqa: BLE001  (a model with required keys has no all-default form)
            pass
        value = value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, str):
        return f"`{value}`" if value else '`""`'
    if isinstance(value, dict | list):
        return f"`{_flow(value)}`"
    return f"`{value}`"


def _has_keys(annotation: Any) -> bool:
    """A top-level key with keys of its own gets a section of the reference."""
    members = _members(annotation)
    if len(members) != 1:
        return False
    tp, origin = members[0], get_origin(members[0])
    if origin in (dict, list):
        return any(_is_model(m) for m in _members(get_args(tp)[-1]))
    return _is_model(tp)


def rows() -> list[Row]:
    """Every key of the configuration file, in the order of the models."""
    out: list[Row] = []
    seen: set[str] = set()

    def walk(model: type[BaseModel], shown: str, key: str, section: str, note: str) -> Iterator[Row]:
        for name, field in model.model_fields.items():
            if field.exclude:
                continue
            s_path = f"{shown}.{name}" if shown else name
            k_path = f"{key}.{name}" if key else name
            sec = section or (name if _has_keys(field.annotation) else "")
            yield Row(sec, s_path, k_path, _type_name(field.annotation) + _constraints(field),
                      _default(field), note, model, name)  # fmt: skip
            members = _members(field.annotation)
            if len(members) != 1:
                continue
            tp = members[0]
            origin = get_origin(tp)
            if tp is MetricSpec:
                continue
            if _is_model(tp):
                yield from walk(tp, s_path, k_path, sec, note)
            elif origin is dict:
                inner = _members(get_args(tp)[1])
                for member in (m for m in inner if _is_model(m)):
                    tag = member.model_fields.get("type")
                    sub = f"type: {get_args(tag.annotation)[0]}" if tag is not None and len(inner) > 1 else note
                    yield from walk(member, f"{s_path}.<name>", f"{k_path}.*", sec, sub)
            elif origin is list and _is_model(get_args(tp)[0]):
                yield from walk(get_args(tp)[0], f"{s_path}[]", f"{k_path}[]", sec, note)

    for row in walk(Config, "", "", "", ""):
        if row.key == "sources.*.type":  # one row for every source type
            row = Row(row.section, row.path, row.key, _source_types(), "required", "", row.owner, row.field)
        if row.key in seen:
            continue
        seen.add(row.key)
        out.append(row)
    for row in walk(MetricSpec, "", "metric_spec", "metric spec", ""):
        out.append(row)
    return out


def _source_types() -> str:
    members = _members(get_args(_members(Config.model_fields["sources"].annotation)[0])[1])
    tags = [get_args(m.model_fields["type"].annotation)[0] for m in members if _is_model(m)]
    return " \\| ".join(f"`{t}`" for t in tags)


def missing_descriptions() -> list[str]:
    """Keys the models hold that :data:`slactl.config.docs.DOCS` does not describe."""
    return [r.key for r in rows() if not r.description]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\\\\|", "\\|") if text else ""


HEADER = """\
# Configuration reference

slactl reads one YAML file: `--config PATH`, else `$SLACTL_CONFIG`, else `./slactl.yaml`.
Paths inside it are relative to the file's own folder. Every key is checked when the
file loads: an unknown key, a wrong type, a reference to an undefined source, tier or
service, or a selector that is not plain PromQL stops `slactl validate` (exit 2) with the
file, the key path and the problem.

`<name>` stands for a name you choose (a source, tier, service or customer); `[]` marks
the items of a list. "—" as a default means the key is optional and unset.

For completion and checks while you type, point your editor at the JSON Schema:
`slactl config schema --out slactl.schema.json`, then put
`# yaml-language-server: $schema=./slactl.schema.json` on the first line of `slactl.yaml`.

<!-- Generated by `slactl config docs` from the configuration models: do not edit by hand.
     Run `make examples` after changing the models or slactl/config/docs.py. -->
"""

METRIC_SPEC_NOTE = """\
A **metric spec** names a CloudWatch metric where a Prometheus service has a selector
(`services.<name>.availability.errors`, `.total`, `.probe` and `.latency.metric`):
"""

SELECTOR_NOTE = """\
A **selector** is a plain PromQL vector selector such as
`http_requests_total{job="api",code=~"5.."}`: no functions, ranges, `offset` or `@`,
since slactl writes every query around it. Quote it in YAML flow style (`{...}`).
"""


def markdown() -> str:
    """``docs/configuration.md``."""
    lines = [HEADER, SELECTOR_NOTE]
    section = None
    all_rows = rows()
    order = {sec: i for i, sec in reversed(list(enumerate(r.section for r in all_rows)))}
    order[""] = -1
    for row in sorted(all_rows, key=lambda r: order[r.section]):
        if row.section != section:
            section = row.section
            title = "Top-level keys" if section == "" else f"`{section}`"
            lines.append(f"\n## {title}\n")
            if section == "metric spec":
                lines[-1] = "\n## Metric spec (CloudWatch)\n"
                lines.append(METRIC_SPEC_NOTE)
            lines.append("| Key | Type | Default | Description | Example |")
            lines.append("|---|---|---|---|---|")
        note = f" *({row.note} only)*" if row.note else ""
        example = row.example if not row.example or row.example.startswith("`") else f"`{row.example}`"
        lines.append(
            f"| `{row.path}` | {row.type} | {_cell(row.default)} | {_cell(row.description)}{note} | {_cell(example)} |"
        )
    return "\n".join(lines).replace("\n\n\n", "\n\n") + "\n"


def json_schema() -> dict[str, Any]:
    """JSON Schema (2020-12) of ``slactl.yaml``, with each key's description."""
    schema = Config.model_json_schema(mode="validation")
    for hidden in ("base_dir", "source_file"):
        schema["properties"].pop(hidden, None)
    defs = schema.get("$defs", {})
    for row in rows():
        target = schema if row.owner is Config else defs.get(row.owner.__name__)
        if target is None or row.field not in target.get("properties", {}):
            continue
        prop = target["properties"][row.field]
        if row.description and "description" not in prop:
            prop["description"] = row.description
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "slactl configuration (slactl.yaml)",
        **{k: v for k, v in schema.items() if k != "title"},
    }


def json_schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=False, ensure_ascii=False) + "\n"
