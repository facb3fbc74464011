"""Panel layout: unique ids and non-overlapping grid positions in a fixed order."""

from __future__ import annotations

import attr
from grafanalib.core import GridPos, Panel, RowPanel

GRID_WIDTH = 24


class Grid:
    """Places panels left to right in 24 columns, wrapping; rows span the full width."""

    def __init__(self) -> None:
        self.panels: list[Panel] = []
        self._x = 0
        self._y = 0
        self._line_height = 0

    def _newline(self) -> None:
        self._y += self._line_height
        self._x = 0
        self._line_height = 0

    def _place(self, panel: Panel, w: int, h: int) -> None:
        self.panels.append(
            attr.evolve(
                panel, id=len(self.panels) + 1, gridPos=GridPos(h=h, w=w, x=self._x, y=self._y)
            )
        )
        self._x += w
        self._line_height = max(self._line_height, h)

    def row(self, title: str, description: str) -> None:
        if self._x:
            self._newline()
        self._place(RowPanel(title=title, description=description), GRID_WIDTH, 1)
        self._newline()

    def add(self, panel: Panel, w: int, h: int) -> None:
        if not 0 < w <= GRID_WIDTH:
            raise ValueError(f"panel width {w} is not in 1..{GRID_WIDTH}")
        if self._x + w > GRID_WIDTH:
            self._newline()
        self._place(panel, w, h)
