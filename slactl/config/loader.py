"""From a file on disk to a checked :class:`~slactl.config.models.Config`.

The order matters and lives only here: bytes are decoded and parsed strictly,
the models validate each key, maintenance times written without an offset are
placed in the config's time zone, and only then are the rules across keys
checked (:mod:`slactl.config.checks`), so a rule that compares times or names
sees the values the rest of slactl will use.

Two things plain ``yaml.safe_load`` gets wrong for a contract file: a key
written twice silently keeps the last value (a second ``acme:`` replaces the
first customer), and a file saved as UTF-16 or Latin-1 surfaces as a decoding
traceback.  Both become :class:`~slactl.errors.ConfigError` naming the file
and the line.
"""

from __future__ import annotations

import codecs
import os
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import ValidationError

from slactl.config.checks import check_references, check_values
from slactl.config.messages import validation_error
from slactl.config.models import Config
from slactl.errors import ConfigError

DEFAULT_FILE = "slactl.yaml"
ENV_VAR = "SLACTL_CONFIG"


def find_config(explicit: str | os.PathLike[str] | None) -> Path:
    """``--config``, else ``$SLACTL_CONFIG``, else ``./slactl.yaml``."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(ENV_VAR)
    return Path(env) if env else Path(DEFAULT_FILE)


def load(path: str | os.PathLike[str]) -> Config:
    """Read, validate and cross-check a config file; raise ConfigError naming the key."""
    p = Path(path)
    shown = str(p)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError("file not found (give --config PATH or set SLACTL_CONFIG)", path=shown) from None
    except IsADirectoryError:
        raise ConfigError("is a folder; give the config file", path=shown) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", path=shown) from exc
    return parse(decode(data, shown), base_dir=p.resolve().parent, source_file=shown)


def parse(text: str, *, base_dir: Path, source_file: str = "<config>") -> Config:
    """Validate and cross-check the text of a config file; relative paths are under ``base_dir``."""
    raw = load_yaml(text, source_file)
    if not isinstance(raw, dict):
        raise ConfigError("the file must be a mapping of keys, like `sources:`, `tiers:`, `services:`", path=source_file)
    raw = dict(raw, base_dir=base_dir, source_file=source_file)
    try:
        cfg = Config.model_validate(raw)
    except ValidationError as exc:
        raise validation_error(exc, source_file) from None
    _check_zone(cfg)
    cfg = _localise_maintenance(cfg)
    check_references(cfg)
    check_values(cfg)
    return cfg


def _check_zone(cfg: Config) -> None:
    try:
        ZoneInfo(cfg.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"unknown IANA time zone {cfg.timezone!r}", path=cfg.source_file, key="timezone") from None


def _localise_maintenance(cfg: Config) -> Config:
    """Maintenance times written without an offset are in the config's time zone.

    This is also the one place a window's order is checked: only here are both
    ends comparable, whether each was written with an offset or without.
    """
    zone = cfg.zone
    fixed = []
    for i, m in enumerate(cfg.maintenance):
        start = m.start if m.start.tzinfo else m.start.replace(tzinfo=zone)
        end = m.end if m.end.tzinfo else m.end.replace(tzinfo=zone)
        if end <= start:
            raise ConfigError("end must be after start", path=cfg.source_file, key=f"maintenance[{i}]")
        fixed.append(m.model_copy(update={"start": start, "end": end}))
    return cfg.model_copy(update={"maintenance": fixed})


# --------------------------------------------------------------------------- strict YAML

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
