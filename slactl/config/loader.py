"""From a file on disk to a checked :class:`~slactl.config.models.Config`.

The order matters and lives only here: bytes are decoded and parsed strictly
(:mod:`slactl.config.yamlread`), the models validate each key, maintenance
times written without an offset are placed in the config's time zone, and only
then are the rules across keys checked (:mod:`slactl.config.checks`), so a rule
that compares times or names sees the values the rest of slactl will use.
"""

from __future__ import annotations

import os
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError

from slactl.config.checks import check_references, check_values
from slactl.config.messages import validation_error
from slactl.config.models import Config
from slactl.config.yamlread import decode, load_yaml
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
