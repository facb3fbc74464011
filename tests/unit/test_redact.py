"""One redaction rule for every URL and DSN: worked examples, then generated secrets in every position.

The generated secrets hold the characters that break naive masks (``@ : / ? & =
# %``, quotes, backslashes, any printable Unicode).  Wherever one is put (a URL's
user info, a query parameter, a libpq key/value string, a longer message, twice)
it never comes out, nor does any 4+ character tail of one holding ``@`` (what a
mask ending at the first ``@`` leaves).  A URL with no secret comes out unchanged.
"""

from __future__ import annotations

import string
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from slactl import redact as redact_module
from slactl.redact import redact, remember_url, url_secrets
from slactl.store.engine import shown

ISSUE_DSN = "postgresql+psycopg://slactl@127.0.0.1:15432/s1?password=SECRET"


@pytest.fixture(autouse=True)
def _no_remembered_secrets(monkeypatch):
    """Each test starts with nothing remembered, so only the shapes mask (and nothing leaks to other tests)."""
    monkeypatch.setattr(redact_module, "_secrets", set())


@pytest.mark.parametrize(
    ("text", "want"),
    [
        (ISSUE_DSN, "postgresql+psycopg://slactl@127.0.0.1:15432/s1?password=***"),
        ("postgresql+psycopg://slactl:p@ss-SECRET@127.0.0.1:15432/s1", "postgresql+psycopg://slactl:***@127.0.0.1:15432/s1"),
        ("postgresql://slactl:a/b?c#d@db/s1", "postgresql://slactl:***@db/s1"),
        ("http://admin:SECRET@127.0.0.1:9093", "http://admin:***@127.0.0.1:9093"),
        ("http://admin:p@ss:w@rd@am:9093/api/v2", "http://admin:***@am:9093/api/v2"),
        ("http://u:pa/ss@h/x", "http://u:***@h/x"),
        ("http://u:pw1234@h:9090/x", "http://u:***@h:9090/x"),
        ("https://tok3n@h/", "https://***@h/"),
        ("postgresql://u@db/s1?sslmode=require&PassWord=S%40CRET&x=1", "postgresql://u@db/s1?sslmode=require&PassWord=***&x=1"),
        ("postgresql://u@db/s1?SSLPASSWORD=SECRET", "postgresql://u@db/s1?SSLPASSWORD=***"),
        ("https://grafana/api?api_key=SECRET&org=1", "https://grafana/api?api_key=***&org=1"),
        ("https://h/cb?access_token=SECRET#x", "https://h/cb?access_token=***"),
        ("host=db port=5432 password=SECRET dbname=s1", "host=db port=5432 password=*** dbname=s1"),
        (r"host=db passwd='se cr\'et' dbname=s1", "host=db passwd='***' dbname=s1"),
        ("connect(user='u', Password='SECRET')", "connect(user='u', Password='***')"),
        ('{"user": "u", "token": "SECRET"}', '{"user": "u", "token": "***"}'),
        ("client_secret: 'SECRET'", "client_secret: '***'"),
        ("PGPASSWORD=SECRET psql -h db", "PGPASSWORD=*** psql -h db"),
        ("pass=SECRET and secret=SECRET2", "pass=*** and secret=***"),
        (f"store {ISSUE_DSN}: refused; store {ISSUE_DSN}", "store postgresql+psycopg://slactl@127.0.0.1:15432/s1"
         "?password=***: refused; store postgresql+psycopg://slactl@127.0.0.1:15432/s1?password=***"),
    ],
)
def test_one_rule_masks_every_form(text, want):
    assert redact(text) == want


@pytest.mark.parametrize(
    "text",
    [
        "postgresql+psycopg://slactl@127.0.0.1:15432/s1",
        "postgresql+psycopg://slactl@db.example:5432/slactl?sslmode=require&application_name=slactl",
        "sqlite:////home/me@corp/slactl.db",
        "http://127.0.0.1:9090/api/v1/query_range?query=up&start=1&end=2&step=60",
        "http://[::1]:9093/api/v2/silences",
        "http://h:9090/users/@me and http://h/@me",
        "Basic authentication failed; the password was wrong: set PGPASSWORD or use ~/.pgpass",
        "pass --token-env NAME; bypass=1 compass=2 tokens=3",
        "(Background on this error at: https://sqlalche.me/e/20/e3q8)",
        "http://u:@h/x",
    ],
)
def test_text_without_a_secret_is_unchanged(text):
    assert redact(text) == text


def test_the_store_url_is_shown_with_the_user_and_without_the_password():
    assert shown(ISSUE_DSN) == "postgresql+psycopg://slactl@127.0.0.1:15432/s1?password=***"
    assert shown("postgresql+psycopg://slactl:p@ss-SECRET@127.0.0.1:15432/s1") == (
        "postgresql+psycopg://slactl:***@127.0.0.1:15432/s1"
    )


def test_remembering_a_url_masks_the_tail_a_driver_takes_for_the_host():
    """SQLAlchemy ends the password at its first "@": libpq then names the rest as the host."""
    url = "postgresql+psycopg://slactl:p@ss-SECRET@127.0.0.1:15432/s1?sslpassword=K3y-PW"
    assert {"p@ss-SECRET", "ss-SECRET", "K3y-PW"} <= set(url_secrets(url))
    remember_url(url)
    said = 'could not translate host name "ss-SECRET@127.0.0.1" to address; key K3y-PW refused'
    assert redact(said) == 'could not translate host name "***@127.0.0.1" to address; key *** refused'


def test_remembering_a_store_url_masks_what_sqlalchemy_takes_for_port_and_host():
    """``p@ss:w@rd`` reads as password ``p``, host ``ss`` and port ``w@rd…``: each piece is remembered."""
    remember_url("postgresql+psycopg://u:p@ss:w@rd-Sekr3t@127.0.0.1:5/s1")
    said = "ValueError: invalid literal for int() with base 10: 'w@rd-Sekr3t@127.0.0.1:5'"
    assert redact(said) == "ValueError: invalid literal for int() with base 10: '***@127.0.0.1:5'"


def test_a_store_url_is_read_whole_spaces_and_quotes_included():
    """A store URL is one string: a password with a space, or quoted in the query, is still one secret."""
    remember_url("postgresql://u:a b-Sp4ce@h/db")
    assert redact("cannot open store postgresql://u:a b-Sp4ce@h/db: x") == "cannot open store postgresql://u:***@h/db: x"
    quoted = "postgresql+psycopg://u@127.0.0.1:5/s1?password='Qt Sekr3t'"
    assert redact(f"store {quoted}: refused") == "store postgresql+psycopg://u@127.0.0.1:5/s1?password='***': refused"


def test_remembering_an_http_url_masks_the_basic_auth_header_it_sends():
    remember_url("http://admin:Am-SECRET@127.0.0.1:9093")
    assert redact("you sent Authorization: Basic YWRtaW46QW0tU0VDUkVU") == "you sent Authorization: Basic ***"
    assert redact("echo YWRtaW46QW0tU0VDUkVU") == "echo ***"


# ---------------------------------------------------------------- generated secrets

_NOT_PRINTABLE = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")
_SPECIALS = st.sampled_from("@:/?&=#%'\"\\")
# No "*": a secret made of the mask itself could not be told from it.
_CHARS = st.characters(exclude_categories=_NOT_PRINTABLE, exclude_characters="*")
URL_SECRETS = st.text(st.one_of(_SPECIALS, _CHARS), min_size=6, max_size=24).filter(
    lambda s: not any(c.isspace() for c in s)
)
TEXT_SECRETS = st.text(st.one_of(_SPECIALS, _CHARS, st.just(" ")), min_size=6, max_size=24).filter(str.strip)


def _http_userinfo(s: str) -> str:
    """An HTTP URL's user info ends at / ? #: those must be escaped there; @ and : need not be."""
    return s.replace("%", "%25").replace("/", "%2F").replace("?", "%3F").replace("#", "%23")


def _libpq(s: str) -> str:
    """A libpq key/value value: quoted when it holds a space, a quote or a backslash."""
    if any(c.isspace() or c in "'\\" for c in s):
        return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return s


POSITIONS = {
    "http user info": lambda s: f"http://admin:{_http_userinfo(s)}@127.0.0.1:9093/api/v2/silences",
    "dsn user info": lambda s: f"postgresql+psycopg://slactl:{s}@127.0.0.1:15432/s1?sslmode=disable",
    "dsn query": lambda s: f"postgresql+psycopg://slactl@127.0.0.1:15432/s1?sslmode=disable&password={quote(s, safe='')}",
    "dsn query unescaped": lambda s: f"postgresql://slactl@db/s1?PASSWORD={s.replace('&', '%26')}",
    "http query": lambda s: f"https://grafana.example/api/search?api_key={quote(s, safe='')}&type=dash-db",
    "libpq": lambda s: f"host=127.0.0.1 port=15432 dbname=s1 password={_libpq(s)} sslmode=disable",
}


def _assert_hidden(secret: str, text: str, scaffold: str) -> None:
    """``secret`` (as it stands in ``text``) is gone from ``redact(text)``; ``scaffold`` is ``text`` with no secret."""
    assume(secret not in scaffold)  # the secret is not also an ordinary part of the message
    out = redact(text)
    assert secret not in out, (text, out)
    if "@" in secret:
        for i in range(len(secret) - 3):
            tail = secret[i:]
            if tail not in scaffold:
                assert tail not in out, (tail, text, out)


def _forms(secret: str, text: str) -> list[str]:
    """The secret as it stands in ``text``: as written, or percent-escaped where URLs escape it."""
    return [f for f in dict.fromkeys((secret, quote(secret, safe=""), _http_userinfo(secret))) if f in text]


NEUTRAL = "Q"  # the same in every escaping: builds the message around no secret at all
PROPERTY = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])


@PROPERTY
@given(secret=URL_SECRETS, position=st.sampled_from(sorted(POSITIONS)))
def test_a_generated_secret_never_shows_in_any_position(secret, position):
    text, scaffold = POSITIONS[position](secret), POSITIONS[position](NEUTRAL)
    for form in _forms(secret, text):
        _assert_hidden(form, text, scaffold)


@PROPERTY
@given(secret=TEXT_SECRETS)
def test_a_quoted_libpq_password_with_spaces_never_shows(secret):
    text, scaffold = POSITIONS["libpq"](secret), POSITIONS["libpq"](NEUTRAL)
    _assert_hidden(secret, text, scaffold)
    _assert_hidden(_libpq(secret), text, scaffold)  # as written, escapes and all
    _assert_hidden(secret, f"connect(host='db', password={secret!r})", f"connect(host='db', password={NEUTRAL!r})")


def _message(first: str, second: str) -> str:
    return (f"slactl: error: cannot open store {first}: connection refused "
            f"(user@example asked; retried {second} too)")  # fmt: skip


@PROPERTY
@given(secret=URL_SECRETS, first=st.sampled_from(sorted(POSITIONS)), second=st.sampled_from(sorted(POSITIONS)))
def test_a_secret_inside_a_longer_message_twice_never_shows(secret, first, second):
    text = _message(POSITIONS[first](secret), POSITIONS[second](secret))
    scaffold = _message(POSITIONS[first](NEUTRAL), POSITIONS[second](NEUTRAL))
    for form in _forms(secret, text):
        _assert_hidden(form, text, scaffold)


_HOSTS = st.sampled_from(["127.0.0.1", "db.example", "[::1]", "prometheus", "am-0.am.monitoring.svc"])
_WORDS = st.text(string.ascii_letters + string.digits + "-._~", min_size=1, max_size=10)
_KEYS = st.sampled_from(["sslmode", "application_name", "query", "step", "start", "connect_timeout", "orgId"])


@st.composite
def plain_urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["http", "https", "postgresql", "postgresql+psycopg"]))
    http = scheme.startswith("http")
    user = "" if http else draw(st.sampled_from(["", "slactl@", "app_user@"]))
    port = draw(st.sampled_from(["", ":9090", ":5432"]))
    # An "@" in a path is ordinary over HTTP; a store URL reads one as ending a password.
    segments = draw(st.lists(st.one_of(_WORDS, st.just("@me")) if http else _WORDS, max_size=3))
    query = draw(st.lists(st.tuples(_KEYS, _WORDS), max_size=3))
    url = f"{scheme}://{user}{draw(_HOSTS)}{port}/{'/'.join(segments)}"
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query) if query else "")


@settings(max_examples=250, deadline=None)
@given(url=plain_urls())
def test_a_url_without_a_secret_is_unchanged(url):
    assert redact(url) == url
    assert redact(f"cannot reach {url}: refused; {url}") == f"cannot reach {url}: refused; {url}"
