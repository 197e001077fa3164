"""Shared test helpers: running the CLI in-process, the golden-file update flag."""

from __future__ import annotations

import io
import sys
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
SHARED = ROOT.parent / "shared"


# the PyTorch oracle is a helper module, not a test module; it imports torch at the top, so
# collecting it for doctests would fail where torch is not installed
collect_ignore = ["torch_oracle.py"]


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite tests/golden/* from the current output")


@pytest.fixture
def update_golden(request) -> bool:
    return request.config.getoption("--update-golden")


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_cli(*args: str) -> Result:
    """Run `cnncalc ARGS…` in this process; capture exit code, stdout and stderr."""
    from cnncalc.cli.entry import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return Result(code, out.getvalue(), err.getvalue())


@pytest.fixture
def cli():
    return run_cli


def has_torch() -> bool:
    try:
        import torch  # noqa: F401
    except Exception:
        return False
    return True


sys.setrecursionlimit(max(sys.getrecursionlimit(), 1000))


def error_of(*args) -> str:
    """The one error line a command must give (exit 2, no traceback, no internal error)."""
    r = run_cli(*args)
    assert r.code == 2, (r.code, r.out, r.err)
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cnncalc: error: "), r.err
    assert "Traceback" not in r.err and "internal error" not in r.err
    return lines[0]


@contextmanager
def importable(tmp_path_factory, name: str, source: str):
    """A module of the tests' own models, written to a temporary folder on sys.path and imported
    (so that ``torch:NAME:factory`` finds it): (the module, its folder); forgotten afterwards."""
    folder = tmp_path_factory.mktemp(name)
    (folder / f"{name}.py").write_text(source, encoding="utf-8")
    sys.path.insert(0, str(folder))
    sys.modules.pop(name, None)
    try:
        yield __import__(name), folder
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop(name, None)
