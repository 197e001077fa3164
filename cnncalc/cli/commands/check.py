"""`cnncalc check FILES…`: build every spec and check its expectations and budgets."""

from __future__ import annotations

import os
import sys
from typing import List, Optional

from ..options import CheckFormat, Dtype
from . import keep_until_exit


def check_format(fmt: Optional[CheckFormat]) -> CheckFormat:
    """The format asked for; GitHub annotations by default inside GitHub Actions."""
    if fmt is not None:
        return fmt
    return CheckFormat.github if os.environ.get("GITHUB_ACTIONS") == "true" else CheckFormat.text


def _model_input(text: Optional[str], against: Optional[str]) -> Optional[tuple]:
    """``--input`` of ``check``: the size the ``--against`` model is built at (None: each spec's)."""
    if text is None:
        return None
    from ...core.errors import InputError
    from ...core.sizes import parse_size
    from ...layers.base import ParamError

    if against is None:
        raise InputError("--input is the size the --against model is built at: give it with --against",
                         received=repr(text))
    try:
        return parse_size(text)
    except ParamError as e:
        raise InputError(f"--input: the input size {e.message}", received=repr(text)) from None


def check(files: List[str], fmt: Optional[CheckFormat] = None, strict: bool = False, dtype: Dtype = Dtype.float32,
          batch: int = 1, train=None, verbose: bool = False, macs_include: Optional[str] = None,
          against: Optional[str] = None, input_size: Optional[str] = None, debug: bool = False) -> int:
    """``cnncalc check``: check every spec's validity, expectations and budgets (and, with
    ``against``, its model's layers); the exit code."""
    from ...verify.check import ModelUnreadable, check_sources
    from ...core.elementwise import parse_include
    from ...core.errors import CnnCalcError
    from ...core.model import Conventions
    from ...render import check as out
    from . import report_error

    try:
        include = parse_include(macs_include)
        model_input = _model_input(input_size, against)
    except CnnCalcError as err:
        return report_error(err)
    conv = Conventions(dtype=dtype.value, batch=batch, optimizer=train.value if train else None,
                       macs_include=include)
    try:
        run = check_sources(files, conv, strict=strict, against=against, model_input=model_input)
    except ModelUnreadable as e:
        return report_error(e.error)
    keep_until_exit(run)
    chosen = check_format(fmt)
    if chosen is CheckFormat.json:
        text = out.render_json(run)
    elif chosen is CheckFormat.github:
        text = out.render_github(run)
    else:
        text = out.render_text(run, verbose=verbose)
    sys.stdout.write(text)
    return run.exit_code
