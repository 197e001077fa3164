"""A fuzz harness for the whole command line (issue 10, section 2).

Every case is a command line — show (the default command), check, grade, compare, the quick
commands conv/pool/dense/tconv, schema, list, values, a model file shown or imported — over
inputs mutated from the shipped specs/ and exams/ files and the model files of tests/models/
(ONNX, .keras, .h5, .prototxt: cut short, bytes flipped or inserted, a block repeated, the
.keras zip's JSON mutated), or with mutated option values. Each case runs in a forked child of a warm
interpreter under a CPU-time limit, a wall-clock alarm and an address-space limit
(``resource.setrlimit``), so a hang or a runaway allocation is caught and reported as such.

A case passes when the exit code is 0, 1 or 2, nothing says "internal error", nothing prints
a traceback, standard error holds at most one line, and the child neither ran out of time nor
of memory.

    python -m tests.fuzz_harness --seconds 120 [--seed N] [--timeout 10] [--memory-mib 1024]

prints each failure (its arguments and files are kept under --keep DIR) and a summary. The
slow test suite (tests/test_fuzz.py) runs it for a bounded number of cases.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("*.yaml"))
EXAMS = sorted((ROOT / "exams").glob("*.yaml"))
MODELS = sorted(p for p in (ROOT / "tests" / "models").iterdir()
                if p.suffix in (".onnx", ".keras", ".h5", ".prototxt"))
VALUES = [p for p in SPECS + EXAMS if "\nvalues:" in p.read_text(encoding="utf-8")]

# values that broke something once, or are likely to
HOSTILE_NUMBERS = ["0", "-1", "1", "2", "3", "4096", "65537", "1000000", "99999999999", "1" + "0" * 30,
                   "9" * 100, "9" * 101, "1" * 4301, "1e999", "1.5", "-0", "0x10", "1_000", ".inf", "nan",
                   "1e5000", "1.7976931348623157e308"]
HOSTILE_SCALARS = ["null", "~", "true", "!!bool 5", "!!int x", "[]", "{}", "[1, [2]]", "{a: 1}", "2001-01-01",
                   "''", "'\\x85'", '"\\e[31m"', '"a\\nb"', "${x < 'a'}", "${1 // 0}", "$nothing",
                   "!!python/object:os.system", "*undefined", "&a 1", "1.73P", "3.60 PB", "1e99999",
                   "/etc/passwd", "../../../etc/passwd", "input 8x8x3 | conv 4 k3", "a" * 300,
                   "same", "valid", "sme", "[1, 2, 3]", "[3, 224, 224]"]
KEYS = ["filters", "kernel", "stride", "padding", "dilation", "groups", "units", "repeat", "if", "first",
        "from", "name", "output_padding", "bias", "activation", "network", "dtype", "batch", "answers", "expect",
        "budget", "train", "params", "macs", "memory", "output_shape", "receptive_field", "layers", "blocks",
        "input", "valid", "training_bytes", "count_biases", "p"]
LAYER_TYPES = ["conv", "tconv", "dense", "relu", "maxpool", "avgpool", "adaptive_avgpool", "global_avgpool",
               "flatten", "bn", "add", "concat", "dropout", "upsample", "depthwise", "softmax", "lrn", "pad"]
DSL_WORDS = ["input", "8x8x3", "32x32x3", "1x1x1", "conv", "tconv", "pool", "dense", "relu", "k3", "k100000",
             "s2", "s4096", "p1", "p99", "|", "|", "|", "x", "*", "10", "0", "-1", "9" * 120, "same", "(", ")",
             "flatten", "bn", "maxpool", "1000000"]
FORMATS = ["table", "json", "csv", "markdown", "text", "github", "xml", "JSON"]


@dataclass
class Case:
    args: list
    files: dict = field(default_factory=dict)  # name -> text (or bytes) written into the case's directory

    def describe(self) -> str:
        return " ".join(a if len(a) < 80 else a[:38] + "…" + a[-38:] for a in self.args)


@dataclass
class Outcome:
    case: Case
    code: int  # exit code, or -signal
    out: str
    err: str
    seconds: float
    problem: str = ""


# ---------------------------------------------------------------------------------------------
# mutations


def mutate_text(text: str, rng: random.Random, rounds: int = 0) -> str:
    """One to three local edits of a YAML text."""
    for _ in range(rounds or rng.choice([1, 1, 1, 2, 3])):  # mostly one edit: deep paths stay reachable
        lines = text.split("\n")
        kind = rng.randrange(10)
        if kind == 0 and lines:  # a number replaced
            nums = list(re.finditer(r"(?<![\w.])-?\d+(?![\w.])", text))
            if nums:
                m = rng.choice(nums)
                text = text[: m.start()] + rng.choice(HOSTILE_NUMBERS) + text[m.end():]
                continue
        if kind == 1 and len(lines) > 1:  # a line deleted
            del lines[rng.randrange(len(lines))]
        elif kind == 2 and lines:  # a line duplicated
            i = rng.randrange(len(lines))
            lines.insert(i, lines[i])
        elif kind == 3:  # a value replaced by a hostile scalar
            vals = list(re.finditer(r"(?<=: )[^\s{}\[\],#][^,}\]\n#]*", text))
            if vals:
                m = rng.choice(vals)
                text = text[: m.start()] + rng.choice(HOSTILE_SCALARS) + text[m.end():]
                continue
        elif kind == 4:  # a key renamed
            keys = list(re.finditer(r"\b([a-z_]+)(?=:)", text))
            if keys:
                m = rng.choice(keys)
                text = text[: m.start()] + rng.choice(KEYS) + text[m.end():]
                continue
        elif kind == 5:  # a layer type replaced
            types = list(re.finditer(r"(?<=- )([a-z_0-9]+)", text))
            if types:
                m = rng.choice(types)
                text = text[: m.start()] + rng.choice(LAYER_TYPES) + text[m.end():]
                continue
        elif kind == 6 and len(text) > 2:  # truncated
            text = text[: rng.randrange(len(text))]
            continue
        elif kind == 7:  # a key: value inserted into a flow mapping
            braces = [m.start() for m in re.finditer(r"\{", text)]
            if braces:
                i = rng.choice(braces) + 1
                text = text[:i] + f"{rng.choice(KEYS)}: {rng.choice(HOSTILE_SCALARS + HOSTILE_NUMBERS)}, " + text[i:]
                continue
        elif kind == 8:  # bytes swapped / a stray character
            if text:
                i = rng.randrange(len(text))
                text = text[:i] + rng.choice(["[", "]", "{", "}", ":", "-", "\t", "'", '"', "&x ", "*x", "#", "|",
                                              "\\", ",", "\u0085", "\x1b"]) + text[i:]
                continue
        else:  # a repeat or an if: added to a layer mapping
            braces = [m.start() for m in re.finditer(r"\{", text)]
            if braces:
                i = rng.choice(braces) + 1
                extra = rng.choice(["repeat: 1000000, ", "repeat: 100000, ", "if: false, ", "repeat: 3, ",
                                    "if: '${p < 1}', ", "first: {stride: 2}, "])
                text = text[:i] + extra + text[i:]
                continue
        text = "\n".join(lines)
    return text


def mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    """A model file damaged the ways files get damaged: cut short, bytes flipped, bytes inserted,
    a block repeated; for a zip (.keras), a member's text mutated and the zip written again."""
    how = rng.choice(["truncate", "flip", "insert", "repeat", "zip"])
    if how == "zip" and data[:2] == b"PK":
        import io
        import zipfile

        src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
        with zipfile.ZipFile(out, "w") as z:
            for info in src.infolist():
                body = src.read(info)
                if info.filename.endswith(".json"):
                    body = mutate_text(body.decode("utf-8"), rng).encode("utf-8")
                z.writestr(info.filename, body)
        return out.getvalue()
    b = bytearray(data)
    if how == "truncate" or not b:
        return bytes(b[:rng.randrange(len(b) + 1)])
    if how == "flip":
        for _ in range(rng.randint(1, 20)):
            b[rng.randrange(len(b))] = rng.randrange(256)
    elif how == "insert":
        at = rng.randrange(len(b))
        b[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    else:
        at = rng.randrange(len(b))
        b[at:at] = b[at:at + rng.randint(1, 4096)] * rng.randint(2, 50)
    return bytes(b)


def dsl_expr(rng: random.Random) -> str:
    return " ".join(rng.choice(DSL_WORDS) for _ in range(rng.randint(1, 14)))


def size_arg(rng: random.Random) -> str:
    dims = [rng.choice(HOSTILE_NUMBERS[:12] + ["8", "32", "224"]) for _ in range(rng.choice([1, 3, 3, 3, 4]))]
    return rng.choice(["x", "×", ","]).join(dims)


def make_case(rng: random.Random) -> Case:
    command = rng.choice(["show", "show", "show", "check", "check", "grade", "grade", "compare", "conv", "pool",
                          "dense", "tconv", "schema", "list", "expr", "model", "model", "values"])
    files: dict = {}

    def spec_file(name="s.yaml") -> str:
        src = rng.choice(SPECS)
        files[name] = mutate_text(src.read_text(encoding="utf-8"), rng) if rng.random() < 0.9 else \
            src.read_text(encoding="utf-8")
        return name

    def options(allowed: list) -> list:
        out = []
        for opt in rng.sample(allowed, k=min(len(allowed), rng.randint(0, 3))):
            if opt in ("--batch", "--depth"):
                out += [opt, rng.choice(HOSTILE_NUMBERS)]
            elif opt in ("--format", "-f"):
                out += [opt, rng.choice(FORMATS)]
            elif opt == "--dtype":
                out += [opt, rng.choice(["float32", "int8", "float16", "fp8", "bfloat16"])]
            elif opt == "--train":
                out += [opt, rng.choice(["adam", "sgd", "momentum", "lion"])]
            else:
                out.append(opt)
        return out

    show_opts = ["--batch", "--depth", "--format", "--dtype", "--train", "--strict", "--exact", "--explain",
                 "--weights-only"]
    if command == "show":
        src = spec_file() if rng.random() < 0.8 else rng.choice(["vgg16", "lenet5", "resnet50", "a" * 300, "-"])
        return Case([src] + options(show_opts), files)
    if command == "model":  # a damaged model file: shown, imported, or checked against
        src = rng.choice(MODELS)
        name = "m" + src.suffix
        if src.suffix == ".prototxt":
            files[name] = mutate_text(src.read_text(encoding="utf-8"), rng)
        else:
            files[name] = mutate_bytes(src.read_bytes(), rng)
        extra = ["--input", size_arg(rng)] if rng.random() < 0.3 else []
        how = rng.choice([[name], [name], ["import", name], ["import", name, "-o", "out.yaml"]])
        return Case(how + extra + (options(show_opts) if how[0] == name else []), files)
    if command == "values":
        src = rng.choice(VALUES)
        files["v.yaml"] = mutate_text(src.read_text(encoding="utf-8"), rng)
        return Case(["values", "v.yaml"] + options(["--format"]), files)
    if command == "expr":
        return Case(["-e", dsl_expr(rng)] + options(show_opts), files)
    if command == "check":
        names = [spec_file(f"s{i}.yaml") for i in range(rng.randint(1, 3))]
        return Case(["check"] + names + options(["--batch", "--format", "--dtype", "--train", "--strict",
                                                 "--verbose"]), files)
    if command == "grade":
        src = rng.choice(EXAMS)
        files["sheet.yaml"] = mutate_text(src.read_text(encoding="utf-8"), rng)
        if rng.random() < 0.3:
            spec_file("net.yaml")
            files["sheet.yaml"] = re.sub(r"network: \w+", "network: net.yaml", files["sheet.yaml"], count=1)
        return Case(["grade", "sheet.yaml"] + options(["--format"]), files)
    if command == "compare":
        names = [spec_file(f"c{i}.yaml") if rng.random() < 0.7 else rng.choice(["vgg16", "lenet5"])
                 for i in range(rng.randint(2, 3))]
        return Case(["compare"] + names + options(["--batch", "--format", "--dtype", "--exact", "--weights-only"]),
                    files)
    if command in ("conv", "pool", "dense", "tconv"):
        args = [command, size_arg(rng)]
        pool = {"conv": ["--filters", "--kernel", "--stride", "--padding", "--dilation", "--groups"],
                "tconv": ["--filters", "--kernel", "--stride", "--padding", "--output-padding", "--dilation"],
                "pool": ["--kernel", "--stride", "--padding"],
                "dense": ["--units"]}[command]
        for opt in rng.sample(pool, k=rng.randint(1, len(pool))):
            args += [opt, rng.choice(HOSTILE_NUMBERS + ["same", "valid", "3", "2x2", "1,2"])]
        return Case(args + options(["--batch", "--format", "--dtype", "--explain", "--exact"]), files)
    if command == "schema":
        return Case(["schema"] + rng.choice([[], ["-o", "out.json"], ["-o", "missing/x.json"], ["-o", "."],
                                             ["-o", "/dev/full"], ["-o", "a" * 300]]), files)
    return Case(["list"] + rng.choice([[], ["--format", "json"], ["--bogus"]]), files)


# ---------------------------------------------------------------------------------------------
# running


def run_case(case: Case, workdir: Path, timeout: float, memory_mib: int) -> Outcome:
    """Run one case in a forked child under CPU, wall-clock and memory limits."""
    import resource
    import signal

    for name, text in case.files.items():
        if isinstance(text, bytes):
            (workdir / name).write_bytes(text)
        else:
            (workdir / name).write_text(text, encoding="utf-8")
    out_path, err_path = workdir / ".out", workdir / ".err"
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child
        code = 70
        try:
            os.chdir(workdir)
            limit = memory_mib * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            cpu = int(timeout) + 1
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
            signal.alarm(int(timeout * 3) + 1)  # wall clock: a generous bound on a shared machine
            fd_out = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            fd_err = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            fd_in = os.open(os.devnull, os.O_RDONLY)
            os.dup2(fd_in, 0)
            os.dup2(fd_out, 1)
            os.dup2(fd_err, 2)
            sys.stdin = open(0, closefd=False)
            sys.stdout = open(1, "w", encoding="utf-8", closefd=False)
            sys.stderr = open(2, "w", encoding="utf-8", closefd=False)
            from cnncalc.cli.entry import main

            code = main(list(case.args))
            sys.stdout.flush()
            sys.stderr.flush()
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 71
        except BaseException:  # noqa: BLE001 - anything escaping main() is a finding
            import traceback

            traceback.print_exc()
            try:
                sys.stderr.flush()
            except Exception:  # noqa: BLE001
                pass
            code = 72
        os._exit(code if isinstance(code, int) else 73)
    _, status = os.waitpid(pid, 0)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    out = out_path.read_text(encoding="utf-8", errors="replace") if out_path.exists() else ""
    err = err_path.read_text(encoding="utf-8", errors="replace") if err_path.exists() else ""
    outcome = Outcome(case, code, out, err, seconds)
    outcome.problem = judge(outcome, timeout)
    return outcome


def judge(o: Outcome, timeout: float) -> str:
    """'' when the outcome is acceptable, else what is wrong with it."""
    if o.code < 0:
        return f"killed by signal {-o.code} (time or memory limit) after {o.seconds:.1f} s"
    if o.code not in (0, 1, 2):
        return f"exit code {o.code}"
    if "internal error" in o.err or "internal error" in o.out:
        return "internal error"
    if "Traceback" in o.err or "Traceback" in o.out:
        return "traceback"
    if "out of memory" in o.err:
        return "out of memory (the memory limit was reached)"
    if len(o.err.splitlines()) > 1:
        return f"{len(o.err.splitlines())} lines on standard error"
    if o.seconds > timeout:
        return f"took {o.seconds:.1f} s"
    return ""


def fuzz(seconds: float = 60, seed: int = 0, timeout: float = 10, memory_mib: int = 1024, cases: int = 0,
         keep: Path = None, verbose: bool = False) -> list:
    """Run cases until ``seconds`` pass (or ``cases`` are run); the failing outcomes."""
    import cnncalc.cli.entry  # noqa: F401 - warm: imported once, forked per case
    import cnncalc.cli.app  # noqa: F401
    import cnncalc.core.analysis  # noqa: F401
    import cnncalc.verify.grade  # noqa: F401

    rng = random.Random(seed)
    failures = []
    n = 0
    slowest = (0.0, None)
    deadline = time.monotonic() + seconds
    while (cases and n < cases) or (not cases and time.monotonic() < deadline):
        case = make_case(rng)
        n += 1
        with tempfile.TemporaryDirectory(prefix="cnncalc-fuzz-") as d:
            o = run_case(case, Path(d), timeout, memory_mib)
            if o.seconds > slowest[0]:
                slowest = (o.seconds, case.describe())
            if o.problem:
                failures.append(o)
                if keep is not None:
                    dest = keep / f"case{n:05d}"
                    shutil.copytree(d, dest)
                    (dest / "ARGS").write_text("\n".join(case.args) + "\n", encoding="utf-8")
                print(f"FAIL #{n} [{o.problem}] cnncalc {case.describe()}\n    {o.err.strip()[:300]}", flush=True)
            elif verbose:
                print(f"ok   #{n} rc={o.code} {o.seconds:.2f}s cnncalc {case.describe()}", flush=True)
    print(f"{n} cases, {len(failures)} failures; slowest {slowest[0]:.2f} s: cnncalc {slowest[1]}", flush=True)
    return failures


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--cases", type=int, default=0, help="run this many cases instead of for --seconds")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=10, help="seconds of CPU per case")
    ap.add_argument("--memory-mib", type=int, default=1024)
    ap.add_argument("--keep", type=Path, default=None, help="copy failing cases here")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args(argv)
    if a.keep:
        a.keep.mkdir(parents=True, exist_ok=True)
    failures = fuzz(a.seconds, a.seed, a.timeout, a.memory_mib, a.cases, a.keep, a.verbose)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
