"""``dashboards push`` against a fake Grafana HTTP API on 127.0.0.1 (no Grafana can be installed here).

The fake implements what the push relies on, as Grafana's dashboard and folder API
behave: bearer-token auth (401 unknown token, 403 read-only token on writes),
folders by uid and by listing, create-or-update by uid with version checking
(412 ``version-mismatch`` on a stale version without overwrite, 412 ``name-exists``
for the same title under another uid in the folder), and GET by uid.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from kits.paths import ROOT

from slactl.cli.main import main
from slactl.config import load, parse
from slactl.dashboards.build import build_all
from slactl.errors import PublishError, UsageError
from slactl.publish.grafana import folder_uid, push_dashboards

EXAMPLE = ROOT / "examples" / "slactl.yaml"
EDITOR, VIEWER = "editor-token", "viewer-token"


class FakeGrafana:
    def __init__(self) -> None:
        self.folders: dict[str, dict[str, Any]] = {}
        self.dashboards: dict[str, dict[str, Any]] = {}  # uid -> {dashboard, folderUid}
        self.log: list[tuple[str, str]] = []
        self.bump_before_save = False  # someone edits in the UI between our read and write
        self._next_id = 1
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def handle(self, method: str, path: str, token: str | None, body: Any) -> tuple[int, Any]:
        self.log.append((method, path))
        if token not in (EDITOR, VIEWER):
            return 401, {"message": "Invalid API key"}
        if method == "POST" and token == VIEWER:
            return 403, {"message": "You'll need additional permissions to perform this action."}
        if method == "GET" and path == "/api/folders":
            return 200, [
                {"id": f["id"], "uid": f["uid"], "title": f["title"]} for f in self.folders.values()
            ]
        if m := re.fullmatch(r"/api/folders/([^/]+)", path):
            folder = self.folders.get(m[1])
            return (200, folder) if folder else (404, {"message": "folder not found"})
        if method == "POST" and path == "/api/folders":
            if (
                any(f["title"] == body["title"] for f in self.folders.values())
                or body.get("uid") in self.folders
            ):
                return 409, {"message": "a folder with the same name already exists"}
            folder = {
                "id": self.new_id(),
                "uid": body.get("uid") or f"f{self._next_id}",
                "title": body["title"],
            }
            self.folders[folder["uid"]] = folder
            return 200, folder
        if m := re.fullmatch(r"/api/dashboards/uid/([^/]+)", path):
            stored = self.dashboards.get(m[1])
            if stored is None:
                return 404, {"message": "Dashboard not found"}
            dash = stored["dashboard"]
            meta = {
                "folderUid": stored["folderUid"],
                "url": f"/d/{dash['uid']}/x",
                "version": dash["version"],
            }
            return 200, {"dashboard": dash, "meta": meta}
        if method == "POST" and path == "/api/dashboards/db":
            return self.save(body)
        return 404, {"message": "Not found"}

    def save(self, body: dict[str, Any]) -> tuple[int, Any]:
        dash, folder = dict(body["dashboard"]), body.get("folderUid", "")
        if folder and folder not in self.folders:
            return 400, {"message": "folder not found"}
        existing = self.dashboards.get(dash["uid"])
        if existing and self.bump_before_save:
            existing["dashboard"]["version"] += 1
        if (
            existing
            and dash.get("version") != existing["dashboard"]["version"]
            and not body.get("overwrite")
        ):
            return 412, {
                "status": "version-mismatch",
                "message": "The dashboard has been changed by someone else",
            }
        for uid, other in self.dashboards.items():
            same_place = (
                other["folderUid"] == folder and other["dashboard"]["title"] == dash["title"]
            )
            if uid != dash["uid"] and same_place and not body.get("overwrite"):
                return 412, {
                    "status": "name-exists",
                    "message": "A dashboard with the same name in the folder already exists",
                }
        dash["version"] = existing["dashboard"]["version"] + 1 if existing else 1
        dash["id"] = existing["dashboard"]["id"] if existing else self.new_id()
        self.dashboards[dash["uid"]] = {"dashboard": dash, "folderUid": folder}
        url = f"/d/{dash['uid']}/x"
        return 200, {
            "id": dash["id"],
            "uid": dash["uid"],
            "url": url,
            "status": "success",
            "version": dash["version"],
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                auth = self.headers.get("Authorization", "")
                token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None
                status, payload = fake.handle(self.command, self.path.split("?")[0], token, body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def __enter__(self) -> FakeGrafana:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def grafana(monkeypatch):
    monkeypatch.setenv("GRAFANA_TOKEN", EDITOR)
    with FakeGrafana() as fake:
        yield fake


@functools.cache
def _example_files() -> tuple[bytes, ...]:
    return tuple(build_all(load(EXAMPLE)).values())


def example_dashboards(cfg=None) -> list[dict[str, Any]]:
    files = build_all(cfg).values() if cfg is not None else _example_files()
    return [json.loads(data) for data in files]


def saves(fake: FakeGrafana) -> int:
    return sum(1 for entry in fake.log if entry == ("POST", "/api/dashboards/db"))


def test_create_then_idempotent(grafana):
    dashes = example_dashboards()
    first = push_dashboards(grafana.url, dashes, folder="SLA")
    assert {r.action for r in first} == {"created"} and {r.version for r in first} == {1}
    assert list(grafana.folders) == [folder_uid("SLA")]
    assert {d["folderUid"] for d in grafana.dashboards.values()} == {folder_uid("SLA")}
    state = json.dumps(grafana.dashboards, sort_keys=True)
    before = saves(grafana)
    second = push_dashboards(grafana.url, example_dashboards(), folder="SLA")
    assert {r.action for r in second} == {"unchanged"} and {r.version for r in second} == {1}
    assert saves(grafana) == before
    assert json.dumps(grafana.dashboards, sort_keys=True) == state
    stored = grafana.dashboards["slactl-sla-overview"]["dashboard"]
    assert {k: v for k, v in stored.items() if k not in ("id", "version")} == {
        k: v for k, v in dashes[0].items() if k not in ("id", "version")
    }


def test_changed_config_updates_by_uid(grafana):
    push_dashboards(grafana.url, example_dashboards())
    text = EXAMPLE.read_text().replace("uptime_target: 99.95", "uptime_target: 99.97")
    changed = parse(text, base_dir=EXAMPLE.parent, source_file="changed.yaml")
    results = {r.uid: r for r in push_dashboards(grafana.url, example_dashboards(changed))}
    assert (
        results["slactl-sla-overview"].action == "updated"
        and results["slactl-sla-overview"].version == 2
    )
    assert results["slactl-system-health"].action == "unchanged"  # no tier in it
    assert grafana.dashboards["slactl-sla-overview"]["dashboard"]["version"] == 2


def test_moving_folder_updates(grafana):
    push_dashboards(grafana.url, example_dashboards(), folder="SLA")
    results = push_dashboards(grafana.url, example_dashboards(), folder="Platform SLOs")
    assert {r.action for r in results} == {"updated"}
    uid = folder_uid("Platform SLOs")
    assert len(uid) <= 40 and grafana.folders[uid]["title"] == "Platform SLOs"


def test_existing_folder_found_by_title(grafana):
    grafana.folders["hand-made"] = {"id": 99, "uid": "hand-made", "title": "SLA"}
    push_dashboards(grafana.url, example_dashboards()[:1], folder="SLA")
    assert list(grafana.folders) == ["hand-made"]
    assert grafana.dashboards["slactl-sla-overview"]["folderUid"] == "hand-made"


def test_concurrent_edit_is_a_clear_412(grafana):
    push_dashboards(grafana.url, example_dashboards()[:1])
    changed = example_dashboards()[:1]
    changed[0]["description"] = "new"
    grafana.bump_before_save = True
    with pytest.raises(
        PublishError, match=r"changed in Grafana .*412 version-mismatch.*run the push again"
    ):
        push_dashboards(grafana.url, changed)


def test_same_title_other_uid_is_a_clear_412(grafana):
    push_dashboards(grafana.url, example_dashboards()[:1])
    copy = dict(example_dashboards()[0], uid="hand-copy")
    with pytest.raises(PublishError, match=r"same title but a different uid.*412 name-exists"):
        push_dashboards(grafana.url, [copy])


def test_auth_errors(grafana, monkeypatch):
    monkeypatch.setenv("GRAFANA_TOKEN", "wrong")
    with pytest.raises(
        PublishError, match=rf"{re.escape(grafana.url)} rejected the token in \$GRAFANA_TOKEN \(401"
    ):
        push_dashboards(grafana.url, example_dashboards())
    monkeypatch.setenv("MY_TOKEN", VIEWER)
    with pytest.raises(
        PublishError, match=r"token in \$MY_TOKEN may not create folder 'SLA' .*\(403 Forbidden\)"
    ):
        push_dashboards(grafana.url, example_dashboards(), token_env="MY_TOKEN")
    monkeypatch.delenv("GRAFANA_TOKEN")
    with pytest.raises(UsageError, match="set the environment variable GRAFANA_TOKEN"):
        push_dashboards(grafana.url, example_dashboards())
    assert not grafana.dashboards


def test_cli_push_and_push_dir(grafana, tmp_path, capsys):
    args = [
        "--config",
        str(EXAMPLE),
        "dashboards",
        "push",
        "--grafana-url",
        grafana.url,
        "--folder",
        "SRE",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 9 and all(line.startswith("created") for line in out)
    assert main(["--config", str(EXAMPLE), "dashboards", "generate", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    assert (
        main(
            [
                "dashboards",
                "push",
                "--grafana-url",
                grafana.url,
                "--folder",
                "SRE",
                "--dir",
                str(tmp_path),
            ]
        )
        == 0
    )
    assert all(line.startswith("unchanged") for line in capsys.readouterr().out.splitlines())


def test_cli_errors_are_one_line(grafana, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GRAFANA_TOKEN", "wrong")
    args = ["--config", str(EXAMPLE), "dashboards", "push", "--grafana-url", grafana.url]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "401 Unauthorized" in err and "GRAFANA_TOKEN" in err
    assert main(["dashboards", "push", "--grafana-url", grafana.url, "--dir", str(tmp_path)]) == 2
    assert "no *.json dashboards" in capsys.readouterr().err
    grafana.server.shutdown()
    grafana.server.server_close()
    monkeypatch.setenv("GRAFANA_TOKEN", EDITOR)
    assert main(args) == 1
    assert "cannot reach Grafana at" in capsys.readouterr().err
