"""``slactl export`` and ``slactl.open``: every file read back with pandas equals the JSON.

Runs the real CLI on the built-in sample source (the store is filled by the
first command, as ``report`` would), then compares row counts, minute states,
incidents and money with ``report-YYYY-MM.json`` and ``credits-YYYY-MM.json``
of the same month.  Bad input gives one line, exit 2 or 1, and no file.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from kits.money import write_money_config
from kits.paths import ROOT

pd = pytest.importorskip("pandas")

MONTH = "2026-01"
NOW = "2026-03-02T00:00:00Z"
CUSTOMERS = {
    "acme": ("ACME Corporation", "enterprise", "12000.00", "USD", ["api", "auth"]),
    "globex": ("=HYPERLINK(\"http://x\")", "professional", "4999.99", "EUR", ["api"]),
    "initech": ("Initech LLC", "basic", "800.00", "USD", ["api", "auth"]),
}


def write_config(folder: Path) -> Path:
    return write_money_config(
        folder, 5,
        {key: {"name": name, "tier": tier, "monthly_fee": fee, "currency": cur, "services": svcs}
         for key, (name, tier, fee, cur, svcs) in CUSTOMERS.items()},
        maintenance=[{"start": "2026-01-17T02:00:00Z", "end": "2026-01-17T04:00:00Z", "services": ["auth"]}],
        company={"name": "Generic Corp", "contact": "billing@genericcorp.example"},
    )  # fmt: skip


def cli(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SLACTL_NOW": NOW}
    return subprocess.run(
        [sys.executable, "-m", "slactl", "--config", str(folder / "slactl.yaml"), *args],
        capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("export")
    write_config(folder)
    for args in (("report", "monthly"), ("credits",)):
        done = cli(folder, *args, "--month", MONTH, "--out", str(folder / "json"))
        assert done.returncode == 0, done.stderr
    report = json.loads((folder / "json" / f"report-{MONTH}.json").read_text(encoding="utf-8"))
    credits = json.loads((folder / "json" / f"credits-{MONTH}.json").read_text(encoding="utf-8"))
    return {"folder": folder, "report": report, "credits": credits}


def export(site: dict, what: str, fmt: str, *extra: str) -> Path:
    out = site["folder"] / "out"
    done = cli(site["folder"], "export", what, "--month", MONTH, *extra, "--format", fmt, "--out", str(out))
    assert done.returncode == 0, done.stderr
    path = Path(done.stdout.strip().splitlines()[-1])
    assert path.parent == out and path.exists()
    return path


def read(path: Path) -> pd.DataFrame:
    if path.suffix == ".csv":
        return pd.read_csv(path, dtype={"credit_amount": str, "monthly_fee": str, "group": str}, keep_default_na=False,
                           na_values=[""])  # fmt: skip
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_excel(path)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_minutes_equal_the_report(site, fmt):
    path = export(site, "minutes", fmt)
    assert path.name == f"minutes-{MONTH}.{fmt}"
    df = read(path)
    report = site["report"]["services"]
    # The split service has one group per tenant; each group has every minute of the month.
    sizes = df.groupby(["service", "group"]).size()
    assert (sizes == 44640).all() and set(df["service"]) == {"api", "auth"}
    assert len(df) == 44640 * len(sizes)
    # The unsplit service's single group is the service itself: its states equal the report's minutes.
    auth = df[df["service"] == "auth"]
    assert set(auth["group"]) == {"[]"}
    counts = auth["state"].astype(str).value_counts().to_dict()
    m = report["auth"]["minutes"]
    assert {k: counts.get(k, 0) for k in ("up", "down", "no_data", "excluded")} == {
        k: m[k] for k in ("up", "down", "no_data", "excluded")
    }
    # Requests summed over the groups equal the service's total; minutes are UTC-aware.
    minute = pd.to_datetime(df["minute"], utc=True) if fmt == "csv" else df["minute"]
    assert str(minute.dt.tz) == "UTC"
    assert minute.min() == pd.Timestamp("2026-01-01T00:00:00Z")
    if fmt == "parquet":
        assert isinstance(df["minute"].dtype, pd.DatetimeTZDtype)


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx"])
def test_incidents_equal_the_report(site, fmt):
    df = read(export(site, "incidents", fmt))
    report = site["report"]
    for key, svc in report["services"].items():
        mine = df[(df["scope"] == "service") & (df["service"] == key)]
        assert len(mine) == svc["incident_count"]
        assert mine["duration_minutes"].tolist() == [i["duration_minutes"] for i in svc["incidents"]]
        assert mine["severity"].tolist() == [i["severity"] for i in svc["incidents"]]
    plat = df[df["scope"] == "platform"]
    assert len(plat) == report["platform"]["incident_count"]
    if fmt != "xlsx" and len(df):
        start = pd.to_datetime(df["start"], utc=True)
        first = next(i for s in report["services"].values() for i in s["incidents"])
        assert pd.Timestamp(first["start"]) in set(start)


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx"])
def test_credits_equal_the_credits_json(site, fmt):
    df = read(export(site, "credits", fmt))
    df = df[df["month"] != "total"]
    doc = site["credits"]["customers"]
    assert sorted(df["customer"]) == sorted(doc)
    for row in df.itertuples():
        c = doc[row.customer]
        assert Decimal(str(row.credit_amount)).quantize(Decimal("0.01")) == Decimal(c["credit_amount"])
        assert Decimal(str(row.monthly_fee)).quantize(Decimal("0.01")) == Decimal(c["monthly_fee"])
        assert row.uptime_percent == pytest.approx(c["uptime_percent"], rel=1e-12)
        assert row.minutes_down == c["minutes"]["down"] and row.minutes_up == c["minutes"]["up"]
        assert row.statement_number == c["statement"]["number"] and row.name == c["name"]
    if fmt == "parquet":
        assert all(isinstance(v, Decimal) for v in df["credit_amount"])


def test_credits_ledger_across_months_in_one_sheet_with_totals(site):
    path = export(site, "credits", "xlsx", "--to", "2026-02")
    assert path.name == f"credits-{MONTH}--2026-02.xlsx"
    sheets = pd.read_excel(path, sheet_name=None)
    assert list(sheets) == ["credits"]
    df = sheets["credits"]
    months = df[df["month"] != "total"]
    totals = df[df["month"] == "total"].set_index("customer")
    assert len(months) == 2 * len(CUSTOMERS) and sorted(totals.index) == sorted(CUSTOMERS)
    for key in CUSTOMERS:
        mine = months[months["customer"] == key]
        assert totals.loc[key, "credit_amount"] == pytest.approx(mine["credit_amount"].sum())
        assert totals.loc[key, "monthly_fee"] == pytest.approx(2 * float(CUSTOMERS[key][2]))
    # A formula-like name stays text, never a formula.
    from openpyxl import load_workbook

    ws = load_workbook(path)["credits"]
    names = [c for c in ws["C"] if c.value and str(c.value).startswith("=")]
    assert names and all(c.data_type == "s" for c in names)


def test_same_data_gives_byte_identical_files(site, tmp_path):
    for fmt in ("csv", "parquet", "xlsx"):
        first = export(site, "incidents", fmt).read_bytes()
        assert export(site, "incidents", fmt).read_bytes() == first, fmt


def test_python_api_shares_the_figures_with_the_json(site):
    import slactl

    with slactl.open(site["folder"] / "slactl.yaml", now=datetime(2026, 3, 2, tzinfo=UTC)) as s:
        figures = s.figures(MONTH)
        assert figures.services["auth"].uptime.uptime_percent == site["report"]["services"]["auth"]["uptime_percent"]
        ledger = s.credits(MONTH)
        assert len(s._months) == 1  # credits reused the month's one computation
        assert [str(a) for a in ledger["credit_amount"]] == [
            site["credits"]["customers"][k]["credit_amount"] for k in ledger["customer"]
        ]
        assert s.credit_figures(MONTH).customers["acme"].number == ledger["statement_number"].iloc[0]
        inc = s.incidents(MONTH)
        assert len(inc) == sum(v["incident_count"] for v in site["report"]["services"].values()) + site["report"][
            "platform"
        ]["incident_count"]
        minutes = s.minutes(MONTH)
        assert isinstance(minutes["minute"].dtype, pd.DatetimeTZDtype)
        assert len(minutes) % 44640 == 0


def test_import_slactl_and_the_cli_do_not_load_pandas():
    code = "import sys, slactl, slactl.cli.main; sys.exit('pandas' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0


def one_line(done: subprocess.CompletedProcess[str], code: int, needle: str) -> None:
    assert done.returncode == code, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in done.stderr


def test_month_after_to_is_one_line_exit_2(site, tmp_path):
    done = cli(site["folder"], "export", "credits", "--from", "2026-03", "--to", "2026-01", "--format", "csv",
               "--out", str(tmp_path / "o"))  # fmt: skip
    one_line(done, 2, "after --to")
    assert not (tmp_path / "o").exists()


def test_from_with_month_is_one_line_exit_2(site, tmp_path):
    for args in (("--month", MONTH, "--from", "2026-02"), ("--from", "2026-02", "--month", MONTH)):
        done = cli(site["folder"], "export", "incidents", *args, "--format", "csv", "--out", str(tmp_path / "o"))
        one_line(done, 2, "--month 2026-01 and --from 2026-02")
    done = cli(site["folder"], "export", "incidents", "--format", "csv", "--out", str(tmp_path / "o"))
    one_line(done, 2, "--month YYYY-MM")
    assert not (tmp_path / "o").exists()


def test_bad_month_and_format_are_exit_2(site, tmp_path):
    done = cli(site["folder"], "export", "credits", "--month", "2026-1", "--format", "csv", "--out", str(tmp_path))
    one_line(done, 2, "YYYY-MM")
    done = cli(site["folder"], "export", "credits", "--month", MONTH, "--format", "xls", "--out", str(tmp_path))
    assert done.returncode == 2 and list(tmp_path.iterdir()) == []


def test_unwritable_out_is_one_line_exit_1_and_no_file(site, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    done = cli(site["folder"], "export", "incidents", "--month", MONTH, "--format", "csv",
               "--out", str(blocker / "sub"))  # fmt: skip
    one_line(done, 1, str(blocker))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_unknown_currency_is_one_line_exit_2(tmp_path):
    path = write_config(tmp_path)
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["customers"]["acme"]["currency"] = "euro"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    done = cli(tmp_path, "export", "credits", "--month", MONTH, "--format", "csv", "--out", str(tmp_path / "o"))
    one_line(done, 2, "customers.acme.currency")
    assert not (tmp_path / "o").exists()


def test_missing_pandas_names_the_extra(tmp_path):
    write_config(tmp_path)
    code = (
        "import sys; sys.modules['pandas'] = None\n"
        "from slactl.cli.main import main\n"
        f"sys.exit(main(['--config', {str(tmp_path / 'slactl.yaml')!r}, 'export', 'credits', '--month', "
        f"'{MONTH}', '--format', 'csv', '--out', {str(tmp_path / 'o')!r}]))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    one_line(done, 2, "pip install 'slactl[pandas]'")
    assert not (tmp_path / "o").exists()


def test_every_column_is_documented():
    from slactl.app.export import CREDIT_COLUMNS, INCIDENT_COLUMNS, MINUTE_COLUMNS

    doc = (ROOT / "docs" / "export.md").read_text(encoding="utf-8")
    for col in (*MINUTE_COLUMNS, *INCIDENT_COLUMNS, *CREDIT_COLUMNS):
        assert f"`{col}`" in doc, col


def _one_shot(df: pd.DataFrame, fmt: str, sheet: str) -> bytes:
    """The whole frame encoded at once, as releases before the streaming writers did."""
    if fmt == "csv":
        return df.to_csv(index=False, lineterminator="\n").encode("utf-8")
    buf = io.BytesIO()
    if fmt == "parquet":
        df.to_parquet(buf, index=False, engine="pyarrow")
        return buf.getvalue()
    naive = df.copy()
    for col in naive.columns:
        if isinstance(naive[col].dtype, pd.DatetimeTZDtype):
            naive[col] = naive[col].dt.tz_convert("UTC").dt.tz_localize(None)
        elif naive[col].dtype.name == "category":
            naive[col] = naive[col].astype(str)
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        naive.to_excel(writer, index=False, sheet_name=sheet)
        ws = writer.sheets[sheet]
        for i, col in enumerate(naive.columns, start=1):
            if naive[col].dtype == object or str(naive[col].dtype) in ("str", "string"):
                for (cell,) in ws.iter_rows(min_row=2, min_col=i, max_col=i):
                    if cell.data_type == "f":
                        cell.data_type = "s"
    src, out = zipfile.ZipFile(io.BytesIO(buf.getvalue())), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*", rb"\g<1>2000-01-01T00:00:00Z", body)
            dst.writestr(zipfile.ZipInfo(info.filename, (1980, 1, 1, 0, 0, 0)), body, zipfile.ZIP_DEFLATED)
    return out.getvalue()


@pytest.mark.parametrize(("what", "fmt"), [("minutes", "csv"), ("minutes", "parquet"), ("incidents", "csv"),
                                           ("incidents", "parquet"), ("incidents", "xlsx"), ("credits", "csv"),
                                           ("credits", "parquet"), ("credits", "xlsx")])  # fmt: skip
def test_a_month_written_in_pieces_has_the_bytes_of_the_whole_frame(site, what, fmt):
    import slactl
    from slactl.app.export import with_totals

    with slactl.open(site["folder"] / "slactl.yaml", now=datetime(2026, 3, 2, tzinfo=UTC)) as s:
        df = pd.concat([getattr(s, what)(MONTH)], ignore_index=True)
    if what == "credits" and fmt == "xlsx":
        df = with_totals(df)
    assert export(site, what, fmt).read_bytes() == _one_shot(df, fmt, what)


def test_a_range_is_its_months_one_after_the_other(site):
    whole = export(site, "minutes", "csv", "--to", "2026-02").read_bytes()
    jan = export(site, "minutes", "csv").read_bytes()
    done = cli(site["folder"], "export", "minutes", "--month", "2026-02", "--format", "csv", "--out",
               str(site["folder"] / "feb"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    feb = Path(done.stdout.strip().splitlines()[-1]).read_bytes()
    header, _, rest = feb.partition(b"\n")
    assert jan.startswith(header + b"\n") and whole == jan + rest
    # XLSX: one sheet, the header once, the months' rows in order.
    df = read(export(site, "incidents", "xlsx", "--to", "2026-02"))
    parts = [read(export(site, "incidents", "xlsx"))]
    done = cli(site["folder"], "export", "incidents", "--month", "2026-02", "--format", "xlsx", "--out",
               str(site["folder"] / "feb"))  # fmt: skip
    parts.append(read(Path(done.stdout.strip().splitlines()[-1])))
    both = pd.concat(parts, ignore_index=True)
    assert len(df) == len(both) > 0
    pd.testing.assert_frame_equal(df, both, check_dtype=False)
