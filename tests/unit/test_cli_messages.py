"""Every rough edge a newcomer met, as the CLI answers it now: the line and the exit code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from slactl.cli.main import main

GOOD = """\
sources:
  prom: {type: prometheus, url: "http://127.0.0.1:9"}
tiers:
  standard: {uptime_target: 99.9}
latency_targets_seconds: {p95: 0.2}
services:
  api:
    source: prom
    availability:
      errors: http_requests_total{job="api",code=~"5.."}
      total: http_requests_total{job="api"}
"""


def run(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def config(tmp_path: Path, text: str = GOOD, name: str = "slactl.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def validate(path: Path, capsys) -> tuple[int, str]:
    code, _out, err = run(["--config", str(path), "validate"], capsys)
    return code, err


# --------------------------------------------------------------------------- config messages


def test_misspelt_key_is_named_with_a_suggestion(tmp_path, capsys):
    path = config(tmp_path, GOOD.replace("{uptime_target: 99.9}", "{uptime_traget: 99.9}"))
    code, err = validate(path, capsys)
    assert code == 2
    assert one_line(err) == (
        f"slactl: error: {path}: tiers.standard.uptime_traget: "
        "unknown key `uptime_traget` (did you mean `uptime_target`?) (and 1 more problem)"
    )


def test_misspelt_source_type_is_suggested(tmp_path, capsys):
    code, err = validate(config(tmp_path, GOOD.replace("type: prometheus", "type: prometeus")), capsys)
    assert code == 2
    assert "sources.prom.type: unknown type 'prometeus' (did you mean 'prometheus'?)" in one_line(err)


def test_messages_carry_no_library_prefix(tmp_path, capsys):
    both = GOOD.replace('      total: http_requests_total{job="api"}\n', '      total: x\n      probe: up\n')
    code, err = validate(config(tmp_path, both), capsys)
    assert code == 2
    line = one_line(err)
    assert "services.api.availability: give either errors and total (ratio form) or probe, not both" in line
    assert "Value error" not in line and "pydantic" not in line


def test_validate_counts_in_proper_english(tmp_path, capsys):
    code, out, _ = run(["--config", str(config(tmp_path)), "validate"], capsys)
    assert code == 0
    assert out.strip().endswith("ok (1 service, 1 source, 0 customers)")


@pytest.mark.parametrize(
    ("old", "new", "key", "problem"),
    [
        ('job="api"}\n', 'job="api"} offset 5m\n', "services.api.availability.total", "remove `offset` and `@`"),
        ('job="api"}\n', 'job="api"} @ 1700000000\n', "services.api.availability.total", "remove `offset` and `@`"),
        ("{p95: 0.2}", "{p95: .nan}", "latency_targets_seconds.p95", "finite number"),
        ("{p95: 0.2}", "{p95: .inf}", "latency_targets_seconds.p95", "finite number"),
        ("      total: http_requests_total{job=\"api\"}\n",
         "      total: http_requests_total{job=\"api\"}\n    group_by: [tenant-id]\n",
         "services.api.group_by", "'tenant-id' cannot be a group_by label"),
        ("      total: http_requests_total{job=\"api\"}\n",
         "      total: http_requests_total{job=\"api\"}\n    group_by: [1tenant]\n",
         "services.api.group_by", "not a Prometheus label name"),
        ('url: "http://127.0.0.1:9"}', 'url: "http://127.0.0.1:9", headers: {X-Org: "a\\r\\nX-Evil: 1"}}',
         "sources.prom.headers.X-Org", "must not contain line breaks"),
        ('url: "http://127.0.0.1:9"}', 'url: "http://127.0.0.1:9", headers: {"Bad Name": x}}',
         "sources.prom.headers", "not a valid HTTP header name"),
        ("latency_targets_seconds", 'status_page: {url: "javascript:alert(1)"}\nlatency_targets_seconds',
         "status_page.url", "is not an http:// or https:// URL"),
        ("latency_targets_seconds", 'alerts: {runbook_base_url: "https://runbooks.example.com/\\nx"}\nlatency_targets_seconds',
         "alerts.runbook_base_url", "must not contain spaces, line breaks"),
    ],
)  # fmt: skip
def test_validate_refuses_what_cannot_run(tmp_path, capsys, old, new, key, problem):
    assert old in GOOD
    path = config(tmp_path, GOOD.replace(old, new, 1))
    code, err = validate(path, capsys)
    assert code == 2
    line = one_line(err)
    assert line.startswith(f"slactl: error: {path}: {key}: ") and problem in line, line


def test_duplicate_yaml_key_is_refused_with_both_lines(tmp_path, capsys):
    twice = GOOD.replace("tiers:\n", "tiers:\n  standard: {uptime_target: 99.5}\n")
    path = config(tmp_path, twice)
    code, err = validate(path, capsys)
    assert code == 2
    assert one_line(err) == (
        f"slactl: error: {path}: line 5: key 'standard' is already set at line 4; "
        "each key may appear once in a mapping"
    )


def test_yaml_merge_keys_still_work(tmp_path, capsys):
    merged = GOOD.replace("tiers:\n  standard: {uptime_target: 99.9}\n",
                          "tiers:\n  base: &b {uptime_target: 99.9}\n  standard: {<<: *b, uptime_target: 99.5}\n")  # fmt: skip
    code, _ = validate(config(tmp_path, merged), capsys)
    assert code == 0


@pytest.mark.parametrize(
    ("encode", "problem"),
    [
        (lambda t: t.encode("utf-16"), "the file is UTF-16 or UTF-32; save it as UTF-8"),
        (lambda t: t.encode("utf-16-le"), "the file is UTF-16 or UTF-32; save it as UTF-8"),
        (lambda t: ("# caf\u00e9\n" + t).encode("latin-1"), "line 1: byte 0xe9 is not UTF-8; save the file as UTF-8"),
    ],
)
def test_config_not_in_utf8_is_exit_2_naming_the_file(tmp_path, capsys, encode, problem):
    path = tmp_path / "slactl.yaml"
    path.write_bytes(encode(GOOD))
    code, err = validate(path, capsys)
    assert code == 2
    assert one_line(err) == f"slactl: error: {path}: {problem}"


def test_utf8_with_byte_order_mark_is_fine(tmp_path, capsys):
    path = tmp_path / "slactl.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    assert validate(path, capsys)[0] == 0


# --------------------------------------------------------------------------- usage


@pytest.mark.parametrize("month", ["0001-01", "1969-12"])
def test_months_before_the_epoch_are_usage_errors(tmp_path, capsys, month):
    code, _, err = run(["--config", str(config(tmp_path)), "report", "monthly", "--month", month,
                        "--out", str(tmp_path / "out")], capsys)  # fmt: skip
    assert code == 2
    assert one_line(err) == f"slactl: error: --month {month}: give a month from 1970-01 on"


def test_report_alone_names_report_monthly(capsys):
    code, _, err = run(["report"], capsys)
    assert code == 2
    assert one_line(err) == "slactl: error: report: name the report: slactl report monthly --month YYYY-MM --out DIR"


def test_missing_option_names_the_command(tmp_path, capsys):
    code, _, err = run(["report", "monthly", "--month", "2026-01"], capsys)
    assert code == 2
    assert one_line(err) == (
        "slactl report monthly: invalid value for '--out': required unless --publish is given"
        " (see slactl report monthly --help)"
    )


OUT_COMMANDS = [
    ["report", "monthly", "--month", "2026-01"],
    ["credits", "--month", "2026-01"],
    ["demo"],
    ["alerts", "generate"],
    ["dashboards", "generate"],
    ["status-page", "build"],
]


@pytest.mark.parametrize("command", OUT_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_out_naming_a_file_is_one_clear_usage_error(tmp_path, capsys, command):
    a_file = tmp_path / "taken.txt"
    a_file.write_text("x")
    code, _, err = run(["--config", str(config(tmp_path)), *command, "--out", str(a_file)], capsys)
    assert code == 2
    line = one_line(err)
    assert f"invalid value for '--out': {a_file} is a file; give a folder (it is created when missing)" in line


@pytest.mark.parametrize("command", OUT_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_out_is_the_same_required_folder_option_everywhere(capsys, command):
    words = [w for w in command if not w.startswith("-") and not w[0].isdigit()]
    code, out, _ = run([*words, "--help"], capsys)
    assert code == 0
    line = next(ln for ln in out.splitlines() if ln.strip().startswith("--out"))
    assert line.strip().startswith("--out DIR")
    help_text = " ".join(out.split("--out DIR", 1)[1].split("\n  -", 1)[0].split())
    # report and credits can publish instead (--publish); every other command needs --out
    assert "[required]" in help_text or "required unless --publish" in help_text


def test_help_shows_flags_without_placeholders(capsys):
    for args in (["--help"], ["scheduler", "run", "--help"], ["init", "--help"]):
        code, out, _ = run(args, capsys)
        assert code == 0
        assert "<bool>" not in out and "BOOLEAN" not in out
    assert "--once " in run(["scheduler", "run", "--help"], capsys)[1]


def test_unset_secret_names_the_file_and_leaves_no_store(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("SLACTL_TEST_UNSET_TOKEN", raising=False)
    path = config(tmp_path, GOOD.replace('url: "http://127.0.0.1:9"}',
                                         'url: "http://127.0.0.1:9", bearer_token_env: SLACTL_TEST_UNSET_TOKEN}'))  # fmt: skip
    code, _, err = run(["--config", str(path), "report", "--month", "2026-01", "--out", str(tmp_path / "o")], capsys)
    assert code == 2
    assert one_line(err) == (
        f"slactl: error: {path}: sources.prom.bearer_token_env: "
        "environment variable SLACTL_TEST_UNSET_TOKEN is not set"
    )
    assert not (tmp_path / "slactl.db").exists()
    # validate only warns: production may have the variable.
    code, out, err = run(["--config", str(path), "validate"], capsys)
    assert code == 0 and "warning: sources.prom.bearer_token_env" in err


def test_version_and_the_prometheus_source_do_not_load_boto3():
    probe = (
        "import sys\n"
        "from slactl.cli.main import main\n"
        "from slactl.sources.prometheus import source  # noqa\n"
        "from slactl.app import report  # noqa\n"
        "assert main(['--version']) == 0\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_version_loads_neither_pydantic_nor_sqlalchemy():
    probe = "import sys\nfrom slactl.cli.main import main\nmain(['--version'])\nprint(sorted({m.split('.')[0] for m in sys.modules} & {'pydantic', 'sqlalchemy', 'numpy', 'boto3', 'rich'}))\n"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]", done.stdout


def test_init_without_its_extra_names_the_install_command(tmp_path):
    probe = (
        "import sys\n"
        "sys.modules['prometheus_api_client'] = None  # as if the extra were not installed\n"
        "from slactl.cli.main import main\n"
        f"sys.exit(main(['init', '--prometheus', 'http://127.0.0.1:9', '--out', {str(tmp_path / 'x.yaml')!r}]))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert one_line(done.stderr) == "slactl: error: slactl init needs the `init` extra: pip install 'slactl[init]'"
    assert not (tmp_path / "x.yaml").exists()


def _command_paths(group, prefix=()):
    for name, cmd in sorted(getattr(group, "commands", {}).items()):
        yield (*prefix, name)
        yield from _command_paths(cmd, (*prefix, name))


def test_every_command_has_plain_help_with_real_metavars(capsys):
    """New command groups: create them with slactl.cli.app.sub_app() so help stays plain."""
    import typer

    from slactl.cli.app import app

    paths = list(_command_paths(typer.main.get_command(app)))
    assert ("report", "monthly") in paths and ("init",) in paths and ("config", "schema") in paths
    for path in paths:
        code, out, err = run([*path, "--help"], capsys)
        assert code == 0, (path, err)
        assert "<bool>" not in out and "╭" not in out, f"slactl {' '.join(path)} --help: use sub_app()"
        assert "TEXT" not in out and "PATH " not in out.replace("--config PATH", ""), (path, out)
