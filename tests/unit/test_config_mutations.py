"""Hundreds of broken variants of the example config: each is accepted or refused in one clean line.

Every key of ``examples/slactl.yaml`` is deleted once and replaced by values of the
wrong kind (a fixed, seeded sample): ``validate`` must answer with exit 0 or 2, one
line naming the file, and never an internal error or a library's own wording.
"""

from __future__ import annotations

import copy
import random

import yaml
from kits.paths import ROOT

from slactl.cli.main import main

VALUES = [None, [], {}, "", "x", -1, 0, float("inf"), True, [1, 2], {"a": 1},
          "http://\n", "\x00", "2026-13-45", "99.9.9", "up{", "up offset 1m"]  # fmt: skip
LIBRARY_WORDING = ("Input should", "Value error", "Decimal input", "pydantic", "Traceback", "instance of")


def _paths(obj, pre=()):
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for key, value in items:
        yield (*pre, key)
        yield from _paths(value, (*pre, key))


def _variants():
    base = yaml.safe_load((ROOT / "examples" / "slactl.yaml").read_text())
    rng = random.Random(14)
    for path in _paths(base):
        for value in ["DELETE", *rng.sample(VALUES, 2)]:
            cfg = copy.deepcopy(base)
            parent = cfg
            for key in path[:-1]:
                parent = parent[key]
            if value == "DELETE":
                del parent[path[-1]]
            else:
                parent[path[-1]] = value
            yield path, value, cfg


def test_every_broken_variant_is_refused_cleanly(tmp_path, capsys):
    target = tmp_path / "slactl.yaml"
    count = refused = 0
    for path, value, cfg in _variants():
        target.write_text(yaml.safe_dump(cfg), encoding="utf-8")
        code = main(["--config", str(target), "validate"])
        out, err = capsys.readouterr()
        count += 1
        where = f"{'.'.join(map(str, path))} = {value!r}: {err.strip()}"
        assert code in (0, 2), where
        if code == 2:
            refused += 1
            lines = err.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith(f"slactl: error: {target}: "), where
            assert not any(w in err for w in LIBRARY_WORDING), where
        else:
            assert out.strip().startswith(f"{target}: ok"), where
    assert count > 250 and refused > count // 2
