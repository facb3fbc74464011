"""Publishing the status page: folder switch and S3 (against a real moto server process).

Readers must see the old page or the new one, never a page pointing at missing
files: assets go first, JSON next, ``index.html`` last, stale files are removed
only after the switch, and a run that fails midway leaves the old page intact.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from kits.statuspage import AT, write_config

from slactl.cli.main import main
from slactl.config import S3Target
from slactl.errors import PublishError
from slactl.publish import folder as folder_mod
from slactl.publish.folder import MANIFEST, check_path, publish_folder, switch_order
from slactl.publish.s3 import make_client, publish_s3


def site(version: str) -> dict[str, bytes]:
    """A small site whose index links a content-hashed stylesheet, like the real one."""
    css = f"body{{color:#{version * 3}}}".encode()
    css_path = f"assets/status.{hashlib.sha256(css).hexdigest()[:8]}.css"
    return {
        "index.html": f'<link rel="stylesheet" href="{css_path}"><p>v{version}</p>'.encode(),
        css_path: css,
        "history.atom": f"<feed>v{version}</feed>".encode(),
        "api/v2/summary.json": json.dumps({"v": version}).encode(),
        "api/v2/status.json": json.dumps({"v": version}).encode(),
        "api/v2/incidents/unresolved.json": json.dumps({"v": version}).encode(),
    }


def css_of(index: bytes) -> str:
    return index.decode().split('href="')[1].split('"')[0]


def test_switch_order_puts_assets_first_and_index_last():
    order = switch_order(site("1"))
    assert order[0].startswith("assets/") and order[-1] == "index.html" and order[-2] == "api/v2/summary.json"
    assert order.index("history.atom") < order.index("api/v2/status.json")
    for bad in ("../x", "/etc/passwd", "a/../../b", ".git/config", ""):
        with pytest.raises(PublishError):
            check_path(bad)


# --------------------------------------------------------------------------- folder


def test_folder_publish_switches_and_removes_only_its_own_stale_files(tmp_path):
    out = tmp_path / "public"
    v1, v2 = site("1"), site("2")
    publish_folder(v1, out)
    (out / "CNAME").write_text("status.example.com")  # someone else's file
    publish_folder(v2, out)
    found = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert found == sorted([*v2, "CNAME", MANIFEST])
    assert all((out / p).read_bytes() == data for p, data in v2.items())
    assert not list(out.glob(".staging-*"))


def test_folder_publish_interrupted_midway_keeps_the_old_page(tmp_path, monkeypatch):
    out = tmp_path / "public"
    v1, v2 = site("1"), site("2")
    publish_folder(v1, out)
    real = os.replace
    moves: list[str] = []
    fail_at: list[int] = [3]

    def recording(src, dst):  # noqa: ANN001 - records the switch's renames (not staging writes)
        rel = Path(dst).relative_to(out).as_posix()
        if not rel.startswith("."):
            if len(moves) in fail_at:
                raise OSError(28, "No space left on device")
            moves.append(rel)
        return real(src, dst)

    monkeypatch.setattr(folder_mod.os, "replace", recording)
    with pytest.raises(PublishError, match="No space left"):
        publish_folder(v2, out)
    assert moves == switch_order(v2)[:3]
    index = (out / "index.html").read_bytes()
    assert index == v1["index.html"] and (out / css_of(index)).is_file()
    assert (out / "api/v2/summary.json").read_bytes() == v1["api/v2/summary.json"]
    moves.clear()
    fail_at.clear()
    publish_folder(v2, out)
    assert moves == switch_order(v2) and moves[-1] == "index.html"
    assert not (out / css_of(v1["index.html"])).exists()


# --------------------------------------------------------------------------- S3 (moto server)


@pytest.fixture(scope="module")
def moto_url():
    exe = Path(sys.executable).with_name("moto_server")
    if not exe.exists():
        reason = "moto_server is not installed (pip install -e '.[test]')"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([str(exe), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"moto_server did not start: {proc.stderr.read().decode()[-500:] if proc.stderr else ''}")
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
def aws_env(monkeypatch):
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": os.devnull,
                       "AWS_SHARED_CREDENTIALS_FILE": os.devnull}.items():
        monkeypatch.setenv(key, value)


class Recorder:
    """The real client, with ``put_object`` recorded (and made to fail at upload ``fail_at``)."""

    def __init__(self, client, fail_at: int | None = None) -> None:  # noqa: ANN001
        self.client, self.fail_at, self.keys = client, fail_at, []

    def put_object(self, **kw):  # noqa: ANN003, ANN201
        from botocore.exceptions import EndpointConnectionError

        if self.fail_at is not None and len(self.keys) == self.fail_at:
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1 (simulated network cut)")
        self.keys.append(kw["Key"])
        return self.client.put_object(**kw)

    def __getattr__(self, name: str):  # noqa: ANN204
        return getattr(self.client, name)


def bucket(moto_url: str, name: str) -> tuple[S3Target, object]:
    target = S3Target(bucket=name, prefix="status/", region="us-east-1", endpoint_url=moto_url)
    client = make_client(target)
    client.create_bucket(Bucket=name)
    return target, client


def objects(client, name: str) -> dict[str, bytes]:  # noqa: ANN001
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=name).get("Contents", [])]
    return {k: client.get_object(Bucket=name, Key=k)["Body"].read() for k in keys}


def test_s3_content_types_cache_headers_order_and_cleanup(moto_url, aws_env):
    target, client = bucket(moto_url, "status-a")
    client.put_object(Bucket="status-a", Key="other/keep.txt", Body=b"not ours")
    v1, v2 = site("1"), site("2")
    publish_s3(v1, target, client)
    rec = Recorder(client)
    uploaded = publish_s3(v2, target, rec)
    assert uploaded == rec.keys[:-1] == ["status/" + p for p in switch_order(v2)]
    assert rec.keys[0].startswith("status/assets/") and rec.keys[-2] == "status/index.html"
    assert rec.keys[-1] == "status/" + MANIFEST
    expect = {
        "index.html": ("text/html; charset=utf-8", "public, max-age=60"),
        "history.atom": ("application/atom+xml; charset=utf-8", "public, max-age=60"),
        "api/v2/summary.json": ("application/json; charset=utf-8", "public, max-age=60"),
        css_of(v2["index.html"]): ("text/css; charset=utf-8", "public, max-age=31536000, immutable"),
    }
    for path, (ctype, cache) in expect.items():
        head = client.head_object(Bucket="status-a", Key="status/" + path)
        assert (head["ContentType"], head["CacheControl"]) == (ctype, cache), path
    stored = objects(client, "status-a")
    assert set(stored) == {"status/" + p for p in v2} | {"status/" + MANIFEST, "other/keep.txt"}
    assert all(stored["status/" + p] == data for p, data in v2.items())


def test_s3_publish_interrupted_at_any_upload_leaves_the_previous_page(moto_url, aws_env):
    target, client = bucket(moto_url, "status-b")
    v1, v2 = site("1"), site("2")
    order = switch_order(v2)
    for k in range(len(order)):
        publish_s3(v1, target, client)
        with pytest.raises(PublishError, match=f"status/{order[k]} failed.*previous page is still served"):
            publish_s3(v2, target, Recorder(client, fail_at=k))
        stored = objects(client, "status-b")
        index = stored["status/index.html"]
        assert index == v1["index.html"]
        assert "status/" + css_of(index) in stored  # what the served page links to is there
        if k <= order.index("api/v2/summary.json"):
            assert stored["status/api/v2/summary.json"] == v1["api/v2/summary.json"]
    publish_s3(v2, target, client)
    stored = objects(client, "status-b")
    assert stored["status/index.html"] == v2["index.html"]
    assert "status/" + css_of(v1["index.html"]) not in stored


def test_cli_publish_to_s3_from_the_config(moto_url, aws_env, tmp_path, capsys):
    config = write_config(tmp_path, days=30)
    raw = yaml.safe_load(config.read_text())
    raw["publish"]["status_page"] = {"s3": {"bucket": "status-c", "prefix": "", "region": "us-east-1", "endpoint_url": moto_url}}
    config.write_text(yaml.safe_dump(raw))
    make_client(S3Target(bucket="status-c", endpoint_url=moto_url, region="us-east-1")).create_bucket(Bucket="status-c")
    assert main(["--config", str(config), "status-page", "publish", "--at", AT.isoformat()]) == 0
    assert "published to s3://status-c" in capsys.readouterr().out
    client = make_client(S3Target(bucket="status-c", endpoint_url=moto_url, region="us-east-1"))
    stored = objects(client, "status-c")
    assert {"index.html", "history.atom", "api/v2/summary.json", MANIFEST} <= set(stored)
    summary = json.loads(stored["api/v2/summary.json"])
    assert summary["page"]["updated_at"] == "2026-02-10T12:00:00.000Z"
    assert client.head_object(Bucket="status-c", Key="index.html")["ContentType"] == "text/html; charset=utf-8"
