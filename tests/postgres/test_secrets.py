"""Credentials never leave: not in messages, --debug tracebacks, scheduler logs, /healthz, /metrics or the store.

Each credential form a source can carry (password in the URL, bearer token from
the environment, basic-auth password from the environment, a header) gets its
own distinctive secret.  The source is a loopback server that answers 401 with a
body repeating every header it got, as some proxies do, so a careless error
message would print the secret back.  Every output is then searched for each
secret and for the base64 a basic-auth header carries it in.
"""

from __future__ import annotations

import base64
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from kits.scheduler import SLACTL, Proc, env, free_port, get, write_config

from slactl.app.demo import demo_config
from slactl.redact import redact, remember
from slactl.store.sql import Store

SECRETS = {
    "url": "UrlPw-7Qz1x9-SECRET",
    "bearer": "Bearer-Tok-4Kd8w2-SECRET",
    "basic": "BasicPw-9Hs3j5-SECRET",
    "header": "HeaderKey-2Mn6v8-SECRET",
    "store": "StorePw-5Tr2k4-SECRET",
}
ENV = {"SLACTL_TEST_TOKEN": SECRETS["bearer"], "SLACTL_TEST_PASSWORD": SECRETS["basic"]}


def forbidden() -> list[str]:
    """Each secret, and the base64 of every user:password pair that could carry it."""
    out = list(SECRETS.values())
    for user, pw in (("scraper", SECRETS["url"]), ("reader", SECRETS["basic"])):
        out.append(base64.b64encode(f"{user}:{pw}".encode()).decode())
    return out


def assert_clean(where: str, text: str | bytes) -> None:
    data = text if isinstance(text, bytes) else text.encode()
    for s in forbidden():
        assert s.encode() not in data, f"{where} shows a secret ({s[:10]}…):\n{data[:2000]!r}"


class _Reflect(BaseHTTPRequestHandler):
    seen: list[str] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        echo = "".join(f"{k}: {v}\n" for k, v in self.headers.items())
        _Reflect.seen.append(echo)
        body = f"401 Unauthorized. You sent:\n{echo}".encode()
        self.send_response(401)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer  # noqa: N815

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def reflector():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Reflect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def source_for(form: str, hostport: str) -> dict:
    src: dict = {"type": "prometheus", "url": f"http://{hostport}", "retries": 0, "timeout_seconds": 5}
    if form == "url":
        src["url"] = f"http://scraper:{SECRETS['url']}@{hostport}"
    elif form == "bearer":
        src["bearer_token_env"] = "SLACTL_TEST_TOKEN"
    elif form == "basic":
        src["basic_auth"] = {"username": "reader", "password_env": "SLACTL_TEST_PASSWORD"}
    else:
        src["headers"] = {"X-Api-Key": SECRETS["header"]}
    return src


def config_for(tmp: Path, form: str, hostport: str, store: str | None = None) -> Path:
    folder = tmp / form
    folder.mkdir(exist_ok=True)
    raw = yaml.safe_load(demo_config("2026-01", 11))
    raw["sources"] = {"sample": source_for(form, hostport)}
    raw["schedule"] = {"ingest_every": "1s", "status_page_every": "1h", "metrics_listen": f"127.0.0.1:{free_port()}"}
    raw["publish"] = {"status_page": {"dir": str(folder / "public")}, "reports": {"dir": str(folder / "reports")}}
    if store:
        raw["store"] = store
    path = folder / "slactl.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def slactl(config: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*SLACTL, "--config", str(config), *args], capture_output=True, text=True, timeout=120,
                          env=env(**ENV))  # fmt: skip


def test_redact_masks_url_passwords_tokens_and_remembered_values():
    assert redact("http://u:pw1234@h:9090/x") == "http://u:***@h:9090/x"
    assert redact("https://tok3n@h/") == "https://***@h/"
    assert redact("Authorization: Bearer abc.def-123") == "Authorization: Bearer ***"
    assert redact("Authorization: Basic dXNlcjpwdzE=") == "Authorization: Basic ***"
    assert redact("Basic authentication failed") == "Basic authentication failed"
    # A user alone is a role name in a store URL (kept), a token over HTTP (masked).
    assert redact("http://h:9090/api and postgresql+psycopg://app@db/x") == "http://h:9090/api and postgresql+psycopg://app@db/x"
    remember("distinctive-value-42")
    assert redact("it said distinctive-value-42!") == "it said ***!"


@pytest.mark.parametrize("form", ["url", "bearer", "basic", "header"])
def test_no_command_output_shows_a_credential(tmp_path, reflector, form):
    _Reflect.seen.clear()
    config = config_for(tmp_path, form, reflector)
    for args in (("report", "monthly", "--month", "2026-01", "--out", str(tmp_path / "out")),
                 ("--debug", "report", "monthly", "--month", "2026-01", "--out", str(tmp_path / "out")),
                 ("credits", "--month", "2026-01", "--out", str(tmp_path / "out")),
                 ("scheduler", "run", "--once"), ("validate",)):  # fmt: skip
        done = slactl(config, *args)
        assert_clean(f"{form}: slactl {' '.join(args)} stdout", done.stdout)
        assert_clean(f"{form}: slactl {' '.join(args)} stderr", done.stderr)
        if args[0] != "validate":
            assert done.returncode == 1, done.stderr
            assert "401" in done.stderr and "not shown" in done.stderr
    assert "Traceback" in slactl(config, "--debug", "report", "monthly", "--month", "2026-01", "--out", str(tmp_path / "out")).stderr
    # The server did get the credential (and echoed it): the test exercises what it means to.
    sent = "".join(_Reflect.seen)
    wanted = {"url": base64.b64encode(f"scraper:{SECRETS['url']}".encode()).decode(), "bearer": SECRETS["bearer"],
              "basic": base64.b64encode(f"reader:{SECRETS['basic']}".encode()).decode(), "header": SECRETS["header"]}  # fmt: skip
    assert wanted[form] in sent
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.suffix != ".yaml":
            assert_clean(str(path), path.read_bytes())


def test_the_scheduler_log_health_metrics_and_store_show_no_credential(tmp_path, reflector, postgres):
    db = postgres.new_database("secrets")
    store = db.replace("postgres@", f"postgres:{SECRETS['store']}@")  # trust auth: the password is just carried
    config = config_for(tmp_path, "url", reflector, store=store)
    proc = Proc(config, **ENV)
    try:
        status, health = proc.poll_until("/healthz", lambda s, b: s == 503 and "401" in b)
        assert "not shown" in health
        _, metrics = get(proc.base + "/metrics")
        assert proc.terminate(timeout=30) == 0
    finally:
        proc.kill()
    assert_clean("/healthz", health)
    assert_clean("/metrics", metrics)
    assert_clean("scheduler log", proc.stderr)
    assert "job ingest failed" in proc.stderr
    engine = sa.create_engine(db)
    try:
        with engine.connect() as conn:
            for table in sa.inspect(conn).get_table_names():
                rows = conn.execute(sa.text(f'SELECT * FROM "{table}"')).all()
                assert_clean(f"store table {table}", repr(rows))
    finally:
        engine.dispose()


def test_a_query_password_in_the_store_url_shows_neither_in_the_leading_line_nor_in_healthz(tmp_path, postgres):
    """``?password=`` is valid libpq: the leading line and a store error in /healthz keep the user, mask it."""
    db = postgres.new_database("querypw")
    secret = "QueryPw-3Vb7n1-SECRET"
    store = f"{db}?password={secret}"  # trust auth: the password is just carried
    Store(store).close()  # migrated while writable: the scheduler then only fails to save
    name = db.rsplit("/", 1)[1]
    admin = sa.create_engine(postgres.url("postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
    finally:
        admin.dispose()
    proc = Proc(write_config(tmp_path, store=store))
    try:
        status, health = proc.poll_until("/healthz", lambda s, b: s == 503 and "store" in b)
        _, metrics = get(proc.base + "/metrics")
        assert proc.terminate(timeout=30) == 0
    finally:
        proc.kill()
    shown = f"{db}?password=***"  # the user (postgres) stays
    leading = [line for line in proc.stderr.splitlines() if "leading: this replica runs the jobs" in line]
    assert leading and shown in leading[0], proc.stderr
    assert shown in health, health
    for where, text in (("/healthz", health), ("/metrics", metrics), ("scheduler log", proc.stderr)):
        assert secret not in text, f"{where}:\n{text}"
