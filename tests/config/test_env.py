"""config.env, in-process: how each kind of value is parsed, and the one-line failure."""

from __future__ import annotations

from typing import Any

import pytest

from config.env import ConfigError, StrictEnv, parse_budget, parse_list, parse_url, require


@pytest.fixture
def make_env(monkeypatch: pytest.MonkeyPatch) -> Any:
    def make(**variables: str) -> StrictEnv:
        env = StrictEnv()
        env.ENVIRON = variables  # an instance attribute: os.environ stays untouched
        monkeypatch.setattr("config.env.env", env)  # what require() reads through
        return env

    return make


def _fails(capsys: pytest.CaptureFixture[str], call: Any) -> str:
    with pytest.raises(SystemExit) as exit_info:
        call()
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    return lines[0]


@pytest.mark.parametrize(
    ("method", "raw", "expected"),
    [
        ("bool", "true", True),
        ("bool", " Yes ", True),
        ("bool", "1", True),
        ("bool", "off", False),
        ("bool", "0", False),
        ("int", "42", 42),
        ("int", " 7 ", 7),
        ("float", "0.5", 0.5),
        ("float", "3", 3.0),
    ],
)
def test_well_formed_values(make_env: Any, method: str, raw: str, expected: object) -> None:
    assert getattr(make_env(V=raw), method)("V", default=None) == expected


@pytest.mark.parametrize(
    ("method", "raw", "message"),
    [
        ("bool", "ture", "expected true or false, got 'ture'"),
        ("bool", "", "expected true or false, got ''"),
        ("int", "abc", "expected an integer, got 'abc'"),
        ("int", "1.5", "expected an integer, got '1.5'"),
        ("float", "5s", "expected a number, got '5s'"),  # plain django-environ says 5.0
        ("float", "1,5", "expected a number, got '1,5'"),  # ... and this 1.5
    ],
)
def test_malformed_values_fail_with_the_name(
    make_env: Any, capsys: pytest.CaptureFixture[str], method: str, raw: str, message: str
) -> None:
    env = make_env(SOME_VARIABLE=raw)
    # A default of another type: django-environ reads "" as None when the default is None.
    line = _fails(capsys, lambda: getattr(env, method)("SOME_VARIABLE", default="unset"))
    assert line == f"configuration error: SOME_VARIABLE is malformed: {message}"


def test_defaults_are_not_parsed(make_env: Any) -> None:
    env = make_env()
    assert env.bool("MISSING", default=True) is True
    assert env.int("MISSING", default=3) == 3
    assert env.float("MISSING", default=0.5) == 0.5


def test_a_variable_without_default_is_required(
    make_env: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    env = make_env()
    line = _fails(capsys, lambda: env.str("NEEDED"))
    assert line == "configuration error: NEEDED is required"


def test_database_urls(make_env: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert make_env(DB="postgres://u:p@h:5432/n").db_url("DB")["ENGINE"].endswith("postgresql")
    assert make_env().db_url("DB", default="sqlite:///x.db")["ENGINE"].endswith("sqlite3")
    for url in ("postgress://u:hunter2@h/n", "nonsense"):
        env = make_env(DB=url)
        line = _fails(capsys, lambda env=env: env.db_url("DB"))
        assert line.startswith("configuration error: DB is malformed: unknown database scheme")
        assert "hunter2" not in line


def test_require(make_env: Any, capsys: pytest.CaptureFixture[str]) -> None:
    make_env(HOSTS=" a.example , b.example ,", BROKER="redis://r:6379/0", BLANK="  ")
    assert require("HOSTS", parse_list) == ["a.example", "b.example"]
    assert require("BROKER", parse_url(("redis",))) == "redis://r:6379/0"
    line = _fails(capsys, lambda: require("BLANK", hint="say something"))
    assert line == "configuration error: BLANK is required: say something"
    line = _fails(capsys, lambda: require("BROKER", parse_url(("amqp",))))
    assert line == "configuration error: BROKER is malformed: expected a URL starting with amqp://"


@pytest.mark.parametrize("value", ["70/60,450/3600", "5/2", " 70/60 , 450/3600 "])
def test_write_budget_accepts_windows(value):
    assert parse_budget(value) == value


@pytest.mark.parametrize("value", ["70", "70/abc", "0/60", "70/60,", "ten/60"])
def test_write_budget_refuses_nonsense(value):
    with pytest.raises(ConfigError, match="LIMIT/SECONDS"):
        parse_budget(value)
