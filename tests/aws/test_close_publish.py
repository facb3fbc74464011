"""The monthly close's publishing, shared by ``report monthly --publish`` and ``credits --publish``; store repair."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import datetime

import pytest
import sqlalchemy as sa
import yaml
from kits.scheduler import SLACTL, env, write_config

from slactl.app.close import monthly_close, previous_month
from slactl.config import load
from slactl.store.sql import Store

NOW = datetime.fromisoformat("2026-02-01T00:05:00+00:00")


def slactl(config, *args: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([*SLACTL, "--config", str(config), *args], capture_output=True, text=True, timeout=180,
                          env=env(**extra))  # fmt: skip


def test_report_and_credits_publish_where_the_monthly_close_does(tmp_path):
    config = write_config(tmp_path)
    done = slactl(config, "report", "monthly", "--month", "2026-01", "--publish")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "reports/report-2026-01.json").is_file()
    assert str(tmp_path / "reports/report-2026-01.json") in done.stdout
    done = slactl(config, "credits", "--month", "2026-01", "--publish")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "reports/credits-2026-01.json").is_file() and (tmp_path / "reports/statements").is_dir()
    both = slactl(config, "credits", "--month", "2026-01", "--publish", "--out", str(tmp_path / "x"))
    assert both.returncode == 2 and "--out DIR or --publish" in both.stderr
    # The scheduler's close writes the same bytes.
    cfg = load(config)
    before = (tmp_path / "reports/report-2026-01.json").read_bytes()
    store = Store(cfg.store_url)
    try:
        done_close = monthly_close(cfg, store, previous_month(NOW, cfg.zone), NOW)
    finally:
        store.close()
    assert done_close.where == str(tmp_path / "reports")
    assert (tmp_path / "reports/report-2026-01.json").read_bytes() == before


def test_publishing_parts_of_a_month_to_s3_keeps_the_other_parts(tmp_path, moto_url, monkeypatch):
    from slactl.config import S3Target
    from slactl.publish.s3 import make_client

    aws = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}  # fmt: skip
    for k, v in aws.items():
        monkeypatch.setenv(k, v)
    target = {"bucket": "sla", "prefix": "reports/", "region": "us-east-1", "endpoint_url": moto_url}
    client = make_client(S3Target(**target))
    client.create_bucket(Bucket="sla")
    config = write_config(tmp_path)
    raw = yaml.safe_load(config.read_text())
    raw["publish"]["reports"] = {"s3": target}
    config.write_text(yaml.safe_dump(raw))
    for cmd in (("report", "monthly"), ("credits",)):
        done = slactl(config, *cmd, "--month", "2026-01", "--publish", **aws)
        assert done.returncode == 0, done.stderr
    keys = {o["Key"] for o in client.list_objects_v2(Bucket="sla")["Contents"]}
    assert {"reports/2026-01/report-2026-01.json", "reports/2026-01/credits-2026-01.json"} <= keys


def test_a_corrupt_chunk_is_one_line_and_store_forget_repairs_it(tmp_path):
    config = write_config(tmp_path)
    out = tmp_path / "out"
    assert slactl(config, "report", "monthly", "--month", "2026-01", "--out", str(out)).returncode == 0
    first = (out / "report-2026-01.json").read_bytes()
    cfg = load(config)
    engine = sa.create_engine(cfg.store_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE slactl_chunk SET data = :d WHERE service = 'api' AND field = 'total'"),
                     {"d": b"\x01\x02\x03"})  # fmt: skip
    engine.dispose()
    broken = slactl(config, "report", "monthly", "--month", "2026-01", "--out", str(out))
    assert broken.returncode == 1
    lines = broken.stderr.strip().splitlines()
    assert len(lines) == 1 and "internal error" not in lines[0] and "ValueError" not in lines[0]
    assert "service 'api'" in lines[0] and "slactl store forget --service api --month 2026-01" in lines[0]
    fixed = slactl(config, "store", "forget", "--service", "api", "--month", "2026-01")
    assert fixed.returncode == 0, fixed.stderr
    assert "forgot service 'api'" in fixed.stdout
    again = slactl(config, "report", "monthly", "--month", "2026-01", "--out", str(out))
    assert again.returncode == 0, again.stderr
    assert (out / "report-2026-01.json").read_bytes() == first
    assert json.loads(first)["month"] == "2026-01"
    bad = slactl(config, "store", "forget", "--service", "nope", "--month", "2026-01")
    assert bad.returncode == 2 and "unknown service" in bad.stderr


@pytest.mark.parametrize("month", ["2026-13"])
def test_store_forget_rejects_a_bad_month(tmp_path, month):
    done = slactl(write_config(tmp_path), "store", "forget", "--service", "api", "--month", month)
    assert done.returncode == 2 and "Traceback" not in done.stderr
