"""The files of ``slactl export``, written one piece at a time: CSV appended, Parquet row groups, XLSX rows.

Why pieces: a year of minutes of a hundred services is tens of millions of
rows, gigabytes as one DataFrame.  :mod:`slactl.app.export` hands over one
piece at a time (a series group's month of minutes, a month's incidents) and
each writer here keeps only what it must: CSV writes the piece's lines, Parquet
fills row groups of 1,048,576 rows (pyarrow's default, so the file has exactly
the row groups a one-shot ``DataFrame.to_parquet`` gives), XLSX appends rows to
openpyxl's write-only sheet.  Peak memory is then flat in the number of months.

The bytes are those of the one-shot pandas writers of earlier releases: the
same frames, cut at the same rows, encoded by the same code.  For XLSX the
write-only sheet lacks the ``<dimension>`` element the normal mode writes, so
:func:`_stable_xlsx` adds it while it fixes the workbook's times.

The file is written under a temporary name beside its place and renamed when
complete (:func:`staged`): a failure leaves no partial file.
"""

from __future__ import annotations

import os
import re
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from slactl.errors import PublishError

if TYPE_CHECKING:
    import pandas as pd

ROW_GROUP_ROWS = 1024 * 1024  # pyarrow's default row group length, used by DataFrame.to_parquet
COPY_BYTES = 1 << 20
SHEET_XML = "xl/worksheets/sheet1.xml"


def _pandas() -> Any:
    import pandas as pd

    return pd


@contextmanager
def staged(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path``, fsynced and renamed onto it when the block ends without error."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
    except OSError as exc:
        raise PublishError(f"cannot write {path}: {exc.strerror or exc}") from exc
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        raise PublishError(f"cannot write {path}: {exc.strerror or exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)


class Writer(Protocol):
    def add(self, df: pd.DataFrame) -> None: ...
    def close(self) -> None: ...
    def abort(self) -> None: ...


@contextmanager
def writing(fmt: str, path: Path, sheet: str) -> Iterator[Writer]:
    """The writer of ``fmt`` into ``path``: closed (the file completed) on success, abandoned on error."""
    writer: Writer
    if fmt == "csv":
        writer = CsvWriter(path)
    elif fmt == "parquet":
        writer = ParquetWriter(path)
    else:
        writer = XlsxWriter(path, sheet)
    try:
        yield writer
    except BaseException:
        writer.abort()
        raise
    writer.close()


class CsvWriter:
    """UTF-8, ISO times with ``+00:00``; the header once, then each piece's lines."""

    def __init__(self, path: Path) -> None:
        self._fh = open(path, "wb")  # noqa: SIM115 (closed by close/abort)
        self._header = True

    def add(self, df: pd.DataFrame) -> None:
        self._fh.write(df.to_csv(index=False, header=self._header, lineterminator="\n").encode("utf-8"))
        self._header = False

    def close(self) -> None:
        self._fh.close()

    def abort(self) -> None:
        self._fh.close()


class ParquetWriter:
    """Pieces gathered until a row group is full, then written as ``to_parquet`` would have cut them."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._pending: list[pd.DataFrame] = []
        self._rows = 0
        self._writer: Any = None
        self._written = False

    def add(self, df: pd.DataFrame) -> None:
        self._pending.append(df)
        self._rows += len(df)
        if self._rows >= ROW_GROUP_ROWS:
            self._flush(final=False)

    def _flush(self, *, final: bool) -> None:
        import pyarrow as pa  # type: ignore[import-untyped]
        import pyarrow.parquet as pq  # type: ignore[import-untyped]

        frame = _pandas().concat(self._pending, ignore_index=True)
        with warnings.catch_warnings():  # pyarrow reads .values of tz-aware columns, as in DataFrame.to_parquet
            warnings.filterwarnings("ignore", r"(Series|DatetimeIndex)\.values returning an ndarray")
            table = pa.Table.from_pandas(frame, preserve_index=False)
        if self._writer is None:
            self._writer = pq.ParquetWriter(str(self._path), table.schema, compression="snappy")
        elif not table.schema.equals(self._writer.schema, check_metadata=False):
            table = table.cast(self._writer.schema)  # e.g. a text column all empty in the first row groups
        rows = len(table)
        full = rows if final else rows - rows % ROW_GROUP_ROWS
        for offset in range(0, full, ROW_GROUP_ROWS):
            self._writer.write_table(table.slice(offset, min(ROW_GROUP_ROWS, full - offset)))
            self._written = True
        if final and not self._written:
            self._writer.write_table(table)  # no rows at all: the one empty row group to_parquet writes
        self._pending = [frame.iloc[full:]] if full < rows else []
        self._rows = rows - full

    def close(self) -> None:
        if self._pending or self._writer is None:
            self._flush(final=True)
        self._writer.close()

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.close()


def _text_not_formulas(append: Callable[[list[Any]], None]) -> Callable[[list[Any]], None]:
    """Keep user text such as ``=cmd|...`` a string: openpyxl stores any ``=...`` value as a formula."""

    def append_text(cells: list[Any]) -> None:
        for cell in cells:
            if cell is not None and getattr(cell, "data_type", None) == "f":
                cell.data_type = "s"
        append(cells)

    return append_text


def _naive(df: pd.DataFrame) -> pd.DataFrame:
    """XLSX cells hold no time zone: times as naive UTC; categories as their text."""
    pd = _pandas()
    naive = df.copy()
    for col in naive.columns:
        if isinstance(naive[col].dtype, pd.DatetimeTZDtype):
            naive[col] = naive[col].dt.tz_convert("UTC").dt.tz_localize(None)
        elif naive[col].dtype.name == "category":
            naive[col] = naive[col].astype(str)
    return naive


def column_letter(n: int) -> str:
    """Excel's name of the ``n``-th column (1 → ``A``, 27 → ``AA``)."""
    out = ""
    while n > 0:
        n, rest = divmod(n - 1, 26)
        out = chr(ord("A") + rest) + out
    return out


class XlsxWriter:
    """One sheet in openpyxl's write-only mode: each piece's rows go to disk as they come."""

    def __init__(self, path: Path, sheet: str) -> None:
        self._path, self._sheet = path, sheet
        fd, raw = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".raw", dir=path.parent)
        os.close(fd)
        self._raw = Path(raw)
        self._excel = _pandas().ExcelWriter(self._raw, engine="openpyxl", engine_kwargs={"write_only": True})
        ws = self._excel.book.create_sheet(title=sheet)
        ws.append = _text_not_formulas(ws.append)  # pandas appends each row of a write-only sheet here
        self._rows = 0
        self._columns = 0
        self._header = True

    def add(self, df: pd.DataFrame) -> None:
        _naive(df).to_excel(self._excel, index=False, sheet_name=self._sheet, header=self._header)
        self._header = False
        self._rows += len(df)
        self._columns = len(df.columns)

    def close(self) -> None:
        try:
            self._excel.close()
            _stable_xlsx(self._raw, self._path, f"A1:{column_letter(max(self._columns, 1))}{self._rows + 1}")
        finally:
            self._raw.unlink(missing_ok=True)

    def abort(self) -> None:
        try:
            self._excel.close()  # openpyxl removes its row files only when the workbook is saved
        except Exception:  # noqa: BLE001 (already failing; the first error is the one to report)
            pass
        self._raw.unlink(missing_ok=True)


def _stable_xlsx(src: Path, dst: Path, dimension: str) -> None:
    """Copy the workbook with its write time and zip times fixed, so the same data gives the same bytes.

    The sheet also gets the ``<dimension ref="A1:…" />`` openpyxl's normal mode
    writes before ``<sheetViews>`` (the write-only mode cannot know it in time).
    Entries are copied in slices: the sheet of a large export never sits in memory.
    """
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            with zin.open(info) as fin:
                head = fin.read(COPY_BYTES)
                read = len(head)
                if info.filename == "docProps/core.xml":
                    rest = fin.read()
                    read += len(rest)
                    head = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*", rb"\g<1>2000-01-01T00:00:00Z", head + rest)
                elif info.filename == SHEET_XML and b"<dimension " not in head:
                    head = head.replace(b"<sheetViews>", f'<dimension ref="{dimension}" /><sheetViews>'.encode(), 1)
                out = zipfile.ZipInfo(info.filename, (1980, 1, 1, 0, 0, 0))
                out.compress_type = zipfile.ZIP_DEFLATED
                out.file_size = info.file_size + len(head) - read  # as writestr sets it: ZIP64 or not
                with zout.open(out, "w") as fout:
                    fout.write(head)
                    while chunk := fin.read(COPY_BYTES):
                        fout.write(chunk)
