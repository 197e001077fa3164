"""The command line, declared once: every command and every option, with its flags, type,
default, help and the commands that take it.

Two parsers are generated from these tables: the typer application (:mod:`cnncalc.cli.app`, which
owns ``--help`` and usage errors) and the hand-written fast path of :mod:`cnncalc.cli.entry` (plain
``cnncalc SPEC`` and ``cnncalc check`` runs, without importing typer). This module imports
nothing heavy: the fast path reads it on every run.

A command's function (``Command.run``, "module:function") takes the options and arguments as
keywords and returns the exit code; it does not know which parser called it.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

from ..core.exitcodes import EXIT_ERROR, EXIT_FAILED, EXIT_OK  # noqa: F401  (one home: cnncalc/core/exitcodes.py)


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"
    html = "html"
    dot = "dot"
    mermaid = "mermaid"


class CompareFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"
    html = "html"


class Dtype(str, Enum):
    float32 = "float32"
    float16 = "float16"
    bfloat16 = "bfloat16"
    int8 = "int8"
    float64 = "float64"


class Train(str, Enum):
    sgd = "sgd"
    momentum = "momentum"
    adam = "adam"


class CheckFormat(str, Enum):
    text = "text"
    json = "json"
    github = "github"


class GradeFormat(str, Enum):
    text = "text"
    json = "json"


class ListFormat(str, Enum):
    text = "text"
    json = "json"


class Target(str, Enum):
    pytorch = "pytorch"
    keras = "keras"


class ValuesFormat(str, Enum):
    text = "text"
    json = "json"


class Arg(NamedTuple):
    """A command's positional argument(s)."""

    key: str
    help: str
    least: int = 1  # how many are required (0 or 1)
    most: Optional[int] = 1  # None: any number


class Command(NamedTuple):
    name: str
    run: str  # "module:function" under cnncalc, imported when the command runs
    help: str
    arg: Optional[Arg] = None


class Option(NamedTuple):
    """One option. ``kind`` is bool (a flag), int (a whole number ≥ 1), str, or an Enum (values
    matched case-insensitively). ``default`` ``...`` means required. ``help`` may be a mapping
    command → text where commands say it differently."""

    flags: Tuple[str, ...]
    key: str
    kind: Any
    default: Any
    help: Any
    commands: Tuple[str, ...]

    def help_for(self, command: str) -> str:
        return self.help.get(command, self.help[None]) if isinstance(self.help, dict) else self.help


QUICK = ("conv", "tconv", "pool", "dense")
REPORTS = ("show",) + QUICK  # the commands that print one network
ALL = ("show", "list", "show-spec") + QUICK + ("grade", "check", "schema", "compare", "values", "import", "export")

COMMANDS: Tuple[Command, ...] = (
    Command("show", "commands.show:show",
            "Show a network: per-layer table and totals (default command).",
            Arg("spec", "a spec file (YAML), a built-in network name, or - for standard input", least=0)),
    Command("list", "commands.show:list_specs", "List the built-in networks."),
    Command("show-spec", "commands.show:show_spec",
            "Print a spec's YAML (a built-in network's file, comments included), to read or adapt: "
            "`cnncalc show-spec vgg16 > mine.yaml`.",
            Arg("spec", "a built-in network name or a spec file")),
    Command("conv", "commands.quick:conv", "One convolution: output size, params, MACs, activations.",
            Arg("size", "input H×W×C: 32x32x3, 32×32×3 or 32,32,3")),
    Command("pool", "commands.quick:pool", "One pooling layer (max, or --avg).",
            Arg("size", "input H×W×C: 224x224x64")),
    Command("dense", "commands.quick:dense", "One fully connected layer.", Arg("size", "input vector length N")),
    Command("tconv", "commands.quick:tconv",
            "One transposed convolution: O = (W − 1)·S − 2P + d·(F − 1) + output_padding + 1.",
            Arg("size", "input H×W×C: 7x7x64")),
    Command("grade", "commands.grade:grade",
            "Grade answer sheets: ✓/✗ per answer with the correct figure and its worked formula. "
            "Exit 0 when every answer is right, 1 when any is wrong, 2 when a sheet is broken "
            "(the other sheets are still graded).",
            Arg("sheets", "answer sheet(s), YAML", most=None)),
    Command("check", "commands.check:check",
            "Check specs: shapes valid, every expect: and budget: holds. Exit 0 all hold, 1 a check fails, "
            "2 a spec is invalid or unreadable.",
            Arg("files", "spec files, directories (every *.yaml/*.yml below), globs or built-in names", most=None)),
    Command("schema", "commands.schema:schema",
            "Print the JSON Schema of spec files (layer types, parameters, expect, budget), generated from the "
            "layer registry. Point yaml-language-server at it: "
            "`# yaml-language-server: $schema=cnncalc.load.schema.json`."),
    Command("compare", "commands.compare:compare",
            "Compare networks: totals side by side with ratios, and shared blocks.",
            Arg("specs", "two or more spec files or built-in names", most=None)),
    Command("values", "commands.values:values",
            "Compute every layer's output from the spec's values: (the input's numbers), exactly: grids per "
            "channel, the worked dot product of any cell, or JSON.",
            Arg("spec", "a spec file with values: (or a built-in name: xo_toy), or - for standard input")),
    Command("import", "commands.importer:import_model",
            "Convert a model file (Caffe .prototxt, ONNX .onnx, Keras .keras/.h5/.json) into a cnncalc spec: the "
            "model's own layer names, sizes in H×W×C, from: where the graph branches.",
            Arg("file", "a model file: .prototxt, .onnx, .keras, .h5 or .json")),
    Command("export", "commands.export:export_model",
            "Write a spec as a Python module that builds the network: a PyTorch nn.Module or a Keras functional "
            "model, layers named as in the spec, exactly cnncalc's params and output shape.",
            Arg("spec", "a spec file (YAML), a built-in network name, a model file, or - for standard input")),
)

_SIZES = "F, or FhxFw"
OPTIONS: Tuple[Option, ...] = (
    # one layer (the quick commands); -k is the kernel, as in the DSL
    Option(("--filters",), "filters", int, ..., "number of filters K", ("conv", "tconv")),
    Option(("--kernel", "-k"), "kernel", str, ..., _SIZES, ("conv", "tconv", "pool")),
    Option(("--stride", "-s"), "stride", str, "1", {None: "S, or ShxSw", "pool": "S (default: the kernel)"},
           ("conv", "tconv", "pool")),
    Option(("--padding", "-p"), "padding", str, "0",
           {None: "P, Ph,Pw, top,bottom,left,right, same or valid",
            "tconv": "P, Ph,Pw (PyTorch), or same / valid (Keras)", "pool": "P, Ph,Pw, same or valid"},
           ("conv", "tconv", "pool")),
    Option(("--output-padding",), "output_padding", str, None,
           "extra size on one side (< stride); none given: 0 for a numeric padding, Keras's rule for same/valid",
           ("tconv",)),
    Option(("--dilation", "-d"), "dilation", str, "1", "d (1 = dense kernel)", ("conv", "tconv")),
    Option(("--groups", "-g"), "groups", int, 1, "channel groups", ("conv", "tconv")),
    Option(("--no-bias",), "no_bias", bool, False, "no bias per filter (per output for dense)",
           ("conv", "tconv", "dense")),
    Option(("--avg",), "avg", bool, False, "average pooling (default: max)", ("pool",)),
    Option(("--ceil-mode",), "ceil_mode", bool, False, "round the size up (Caffe)", ("pool",)),
    Option(("--units", "-u"), "units", int, ..., "number of outputs", ("dense",)),
    # what one network is, and how it is shown
    Option(("--expr", "-e"), "expr", str, None,
           'a network in the one-line DSL: "input 32x32x3 | conv 10 k5 p2 | relu"', ("show",)),
    Option(("--input",), "input_size", str, None,
           {None: "replace the spec's input size: 299x299x3, or N for a vector",
            "import": "the input size HxWxC (or N): needed when the file leaves it open, or to replace it",
            "check": "with --against: the input size HxWxC (or N) the model is built at (torch:MODULE:FACTORY, "
                     "or a file's or spec's own size replaced); default: each spec's input size"},
           ("show", "compare", "import", "export", "check")),
    Option(("--to", "-t"), "target", Target, ..., "the framework: pytorch or keras", ("export",)),
    Option(("--depth",), "depth", int, None,
           "one row per block instance at name depth N (layer3 = 1, layer3.4 = 2)", ("show",)),
    Option(("--format", "-f"), "fmt", Format, Format.table, "output format (html: a page; dot, mermaid: the graph)",
           REPORTS),
    Option(("--format", "-f"), "fmt", CompareFormat, CompareFormat.table,
           "output format (csv and markdown: the totals, one row per spec; html: a page)", ("compare",)),
    Option(("--format", "-f"), "fmt", CheckFormat, None,
           "text (default), json, or github (the default when GITHUB_ACTIONS=true)", ("check",)),
    Option(("--format", "-f"), "fmt", GradeFormat, GradeFormat.text, "text, or json for tools", ("grade",)),
    Option(("--format", "-f"), "fmt", ValuesFormat, ValuesFormat.text,
           "text grids, or json (integers where integral, floats otherwise)", ("values",)),
    Option(("--format", "-f"), "fmt", ListFormat, ListFormat.text,
           "text (one name a line), or json (name, network, input, output, params, MACs)", ("list",)),
    Option(("--exact",), "exact_numbers", bool, False, "full integers instead of K/M/G",
           REPORTS + ("compare",)),
    Option(("--explain",), "explain", bool, False,
           {None: "every figure with its worked formula (with --format json: an \"explain\" list per layer)",
            "show": "every figure with its worked formula (with --format json: an \"explain\" list per layer; "
                    "with --depth: the collapsed rows)",
            "values": "every output cell with its worked arithmetic (the dot product as the slides write it)"},
           REPORTS + ("values",)),
    Option(("--cell",), "cell", str, None, "explain one cell: conv1[0,0,1] (row, column, channel, from 0)",
           ("values",)),
    Option(("--digits",), "digits", int, None, "round values to N decimals", ("values",)),
    Option(("--truncate",), "truncate", int, None, "truncate values to N decimals (as the X/O slides do)",
           ("values",)),
    Option(("--warnings", "-W"), "warnings", bool, False,
           "print every warning in full (default: one summary line)", ("show",)),
    # the conventions of the figures
    Option(("--dtype",), "dtype", Dtype, Dtype.float32, "bytes per value",
           REPORTS + ("check", "compare")),
    Option(("--batch",), "batch", int, 1, "batch size for activation memory", REPORTS + ("check", "compare")),
    Option(("--weights-only",), "weights_only", bool, False,
           "count params without biases (the CS231n table's way)", REPORTS + ("compare",)),
    Option(("--macs-include",), "macs_include", str, None,
           "add element-wise kinds to the MACs (and FLOPs): a comma list of bias, norm, affine, act, avgpool, "
           "maxpool, merge, softmax, pool (avgpool + maxpool) or all; KIND*N counts a kind N times "
           "(README: Counting conventions)",
           REPORTS + ("check", "compare")),
    Option(("--strict",), "strict", bool, False,
           {None: "a size that does not divide is an error (exit 2) unless the spec expects it (valid: false)",
            **{q: "a size that does not divide is an error (exit 2)" for q in QUICK}},
           REPORTS + ("check",)),
    Option(("--train",), "train", Train, None,
           {None: "add training memory: params + gradients + optimizer state + stored activations",
            "check": "optimizer for training_bytes budgets"}, ("show", "check")),
    Option(("--verbose", "-v"), "verbose", bool, False, "also list the checks that hold", ("check",)),
    Option(("--against",), "against", str, None,
           "compare each spec with its model, layer by layer (output shape, params, non-trainable, MACs): a model "
           "file (.onnx, .keras, .h5, .json, .prototxt), torch:MODULE:FACTORY, or another spec", ("check",)),
    Option(("--compact",), "compact", bool, False,
           "fold repeated structures (S.0, S.1, … numbered alike) into blocks: and repeat:, when the folded spec "
           "builds to exactly the same layers and figures", ("import",)),
    Option(("--output", "-o"), "output", str, None, "write to this file instead of stdout",
           ("schema", "import", "show", "compare", "export")),
    # every command
    Option(("--debug",), "debug", bool, False, "show a traceback on internal errors", ALL),
)

# pool's stride defaults to its kernel: the one default that differs by command
DEFAULT_OVERRIDES = {("pool", "stride"): None}


def command(name: str) -> Command:
    for c in COMMANDS:
        if c.name == name:
            return c
    raise KeyError(name)


def options_of(name: str) -> List[Option]:
    """The options a command takes, in table order."""
    return [o for o in OPTIONS if name in o.commands]


def default_of(name: str, option: Option):
    return DEFAULT_OVERRIDES.get((name, option.key), option.default)


def flag_table(name: str) -> Dict[str, Tuple[str, Any]]:
    """flag → (keyword, kind) for one command: what the fast parser reads."""
    return {flag: (o.key, o.kind) for o in options_of(name) for flag in o.flags}


def conflicting_option(args: List[str]) -> Optional[str]:
    """An error message when one option is given twice with different values
    (``--filters 10 --filters 3``), else None. Click would silently keep the last one.

    >>> conflicting_option(["conv", "8x8x3", "--kernel", "3", "-k", "5", "--filters", "2"])
    "option --kernel given twice with different values ('3' and '5')"
    >>> conflicting_option(["vgg16", "-f", "json", "--format=JSON", "-fjson"]) is None
    True
    >>> conflicting_option(["vgg16", "-fcsv", "-f", "json"])
    "option --format given twice with different values ('csv' and 'json')"
    """
    names = {c.name for c in COMMANDS}
    if args and args[0] in names:
        name, rest = args[0], args[1:]
    elif args and not args[0].startswith("-") or (args and args[0] in flag_table("show")):
        name, rest = "show", args
    else:
        return None
    table = flag_table(name)
    seen: Dict[str, Any] = {}
    i = 0
    while i < len(rest):
        a = rest[i]
        i += 1
        if a == "--":
            break
        if not a.startswith("-") or a == "-":
            continue
        flag, eq, value = a.partition("=")
        if flag not in table and not a.startswith("--") and a[:2] in table and table[a[:2]][1] is not bool:
            flag, eq, value = a[:2], "=", a[2:]  # -fjson: a short flag with its value attached
        if flag not in table:
            continue
        key, kind = table[flag]
        if kind is bool:
            continue
        if not eq:
            if i >= len(rest):
                break
            value = rest[i]
            i += 1
        norm = value.lower() if isinstance(kind, type) and issubclass(kind, Enum) else value
        if key in seen and seen[key][0] != norm:
            long = next(o.flags[0] for o in options_of(name) if o.key == key)
            return f"option {long} given twice with different values ({seen[key][1]!r} and {value!r})"
        seen.setdefault(key, (norm, value))
    return None
