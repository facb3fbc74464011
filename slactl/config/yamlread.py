"""Reading the config file's bytes into plain data, refusing what YAML lets slip.

Two things plain ``yaml.safe_load`` gets wrong for a contract file: a key
written twice silently keeps the last value (a second ``acme:`` replaces the
first customer), and a file saved as UTF-16 or Latin-1 surfaces as a decoding
traceback.  Both become :class:`~slactl.errors.ConfigError` naming the file
and the line.
"""

from __future__ import annotations

import codecs
from typing import Any

import yaml

from slactl.errors import ConfigError

_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)


def decode(data: bytes, source_file: str) -> str:
    """UTF-8 (a leading byte-order mark is allowed); anything else names the problem."""
    if data.startswith(_UTF16_BOMS) or (len(data) > 1 and (data[0] == 0 or data[1] == 0)):
        raise ConfigError("the file is UTF-16 or UTF-32; save it as UTF-8", path=source_file)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"line {line}: byte 0x{data[exc.start]:02x} is not UTF-8; save the file as UTF-8",
            path=source_file,
        ) from None


# libyaml's parser when PyYAML was built with it: eight times faster on a config
# of a few thousand services, with the same marks and the same constructors.
_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_Base):
    """SafeLoader that refuses a mapping key written twice (merge keys ``<<`` still work)."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _value in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        try:
            first = seen.get(key)
        except TypeError:  # an unhashable key: let the base class report it
            continue
        if first is not None:
            raise ConfigError(
                f"line {key_node.start_mark.line + 1}: key {key!r} is already set at line {first}; "
                "each key may appear once in a mapping"
            )
        seen[key] = key_node.start_mark.line + 1
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    lambda loader, node: _mapping(loader, node),
)


def load_yaml(text: str, source_file: str) -> Any:
    """Parse YAML with duplicate keys refused; errors name the file and the line."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506  (a SafeLoader subclass)
    except ConfigError as exc:
        raise ConfigError(str(exc), path=source_file) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "YAML"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{where}: {problem}", path=source_file) from None
