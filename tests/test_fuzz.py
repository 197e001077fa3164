"""The fuzz harness (tests/fuzz_harness.py) over every subcommand, in the slow suite:
``python -m pytest -m slow tests/test_fuzz.py``. Each case runs in a forked child under a
10 s CPU limit and a 1 GiB address-space limit; it must exit 0, 1 or 2, with at most one line
on standard error, never an internal error or a traceback."""

from __future__ import annotations

import os
import sys

import pytest

from tests import fuzz_harness

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "win32", reason="needs fork and rlimits")]


@pytest.mark.parametrize("seed", range(4))
def test_mutated_inputs_never_crash_hang_or_exhaust_memory(seed):
    failures = fuzz_harness.fuzz(cases=150, seed=seed, timeout=10, memory_mib=1024)
    assert not failures, "\n".join(f"[{o.problem}] cnncalc {o.case.describe()}: {o.err.strip()[:200]}"
                                   for o in failures)


def test_the_harness_catches_what_it_must(tmp_path):
    # a case that exceeds the memory limit is killed or refused, and judged a failure
    from tests.fuzz_harness import Case, Outcome, judge

    assert judge(Outcome(Case([]), -9, "", "", 1.0), 10).startswith("killed by signal 9")
    assert judge(Outcome(Case([]), 2, "", "cnncalc: internal error: X\n", 1.0), 10) == "internal error"
    assert judge(Outcome(Case([]), 2, "", "a\nb\n", 1.0), 10) == "2 lines on standard error"
    assert judge(Outcome(Case([]), 2, "", "cnncalc: error: x\n", 1.0), 10) == ""
    assert judge(Outcome(Case([]), 0, "", "", 11.0), 10) == "took 11.0 s"
