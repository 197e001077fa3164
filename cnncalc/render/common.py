"""Number formatting and row contents shared by the renderers.

This is the only place numbers are rounded or given units; the figures themselves come
from the Report untouched.
"""

from __future__ import annotations

from ..model import LayerResult, Report

def exact(n: int) -> str:
    """1728 → '1,728'."""
    return f"{n:,}"


def _round_sig(n: int, digits: int) -> tuple:
    """n rounded half-up to ``digits`` significant digits, as (mantissa int, exponent)."""
    length = len(str(n))
    if length <= digits:
        return n, 0
    scale = 10 ** (length - digits)
    q = (n + scale // 2) // scale
    exp = length - digits
    if len(str(q)) > digits:  # 9995 → 1000 (carried a digit)
        q //= 10
        exp += 1
    return q, exp


_UNITS = " KMGTPEZY"  # SI prefixes, powers of 1000 up to 10^24


def human(n: int, digits: int = 3) -> str:
    """Three significant digits with K/M/G/T/P/E/Z/Y (powers of 1000), exact below 1000,
    beyond Y written as 1.23e27; integer arithmetic throughout, so huge values round correctly.

    >>> [human(x) for x in (0, 999, 1728, 36928, 138357544, 15470264320, 999999, 10**18)]
    ['0', '999', '1.73K', '36.9K', '138M', '15.5G', '1.00M', '1.00E']
    >>> human(9 * 10**27 + 10**25), human(999_500 * 10**21)
    ('9.01e27', '1.00e27')
    """
    if n < 0:
        return "-" + human(-n, digits)
    if n < 1000:
        return str(n)
    q, exp = _round_sig(n, digits)
    value_digits = len(str(q)) + exp
    group = (value_digits - 1) // 3  # 1: K, 2: M, 3: G, 4: T, … 8: Y
    if group < len(_UNITS):
        return _place(q, exp - 3 * group) + _UNITS[group]
    return f"{_place(q, 1 - len(str(q)))}e{value_digits - 1}"


def _place(q: int, exp: int) -> str:
    """q·10^exp written in decimal."""
    if exp >= 0:
        return str(q * 10**exp)
    s = str(q).rjust(-exp + 1, "0")
    return s[:exp] + "." + s[exp:]


def human_bytes(n: int) -> str:
    """Bytes in decimal units (MB = 10⁶ bytes), two decimals; beyond YB, 1.23e27 B.

    >>> human_bytes(60950432), human_bytes(553430176), human_bytes(512)
    ('60.95 MB', '553.43 MB', '512 B')
    >>> human_bytes(4 * 10**22 + 3600008), human_bytes(4 * 10**34)
    ('40.00 ZB', '4.00e34 B')
    """
    if n < 1000:
        return f"{n} B"
    if n >= 1000 * 10**24:
        return human(n) + " B"
    for power, unit in ((10**24, "YB"), (10**21, "ZB"), (10**18, "EB"), (10**15, "PB"), (10**12, "TB"),
                        (10**9, "GB"), (10**6, "MB"), (10**3, "kB")):
        if n >= power:
            hundredths = (n * 100 + power // 2) // power
            return f"{hundredths // 100}.{hundredths % 100:02d} {unit}"
    return f"{n} B"  # pragma: no cover


def number(n: int, exact_numbers: bool) -> str:
    return exact(n) if exact_numbers else human(n)


def shape_text(shape, sep: str = "×") -> str:
    return sep.join(str(x) for x in shape)


def _pair(v) -> str:
    a, b = v
    return f"{a}" if a == b else f"{a}×{b}"


def describe(r: LayerResult) -> str:
    """A short description of a layer: 'conv 3×3/1 p1', 'maxpool 2×2/2', 'dense'."""
    p = r.spec.params if r.spec is not None else {}
    t = r.type
    if "kernel" in p:
        kh, kw = p["kernel"]
        text = f"{t} {kh}×{kw}"
        stride = p.get("stride")
        if stride:
            text += f"/{_pair(stride)}"
        pad = p.get("padding")
        if isinstance(pad, str):
            text += f" {pad}"
        elif pad and any(pad):
            t_, b, left, right = pad
            text += f" p{t_}" if len(set(pad)) == 1 else f" p{t_},{b},{left},{right}"
        if p.get("dilation") not in (None, (1, 1)):
            text += f" d{_pair(p['dilation'])}"
        if p.get("groups", 1) != 1:
            text += f" g{p['groups']}"
        if p.get("ceil_mode"):
            text += " ceil"
    else:
        text = t
    if p.get("activation"):
        text += f"+{p['activation']}"
    return text


RF_MARK = "*"
RF_NOTE = ("RF *: every output position's field spans the whole input (fields are on the padded plane,\n"
           "Araujo et al., so they can be wider than the input).")


def rf_text(r: LayerResult) -> str:
    """The RF column: 7, or 7×5 when H and W differ; marked when it covers the whole input."""
    a, b = r.receptive_field
    return (str(a) if a == b else f"{a}×{b}") + (RF_MARK if r.covers_input else "")


def conventions_line(report: Report) -> str:
    """The counting conventions in force, in lines of at most 100 characters."""
    c = report.conventions
    params = "weights + biases" if c.count_biases else "weights only (biases not counted, as in CS231n)"
    return (f"Conventions: params = {params}, learnable only; MACs = conv/dense multiply-accumulates,\n"
            f"bias adds excluded; FLOPs = {c.flops_per_mac} × MACs; activations = the input + every layer's output\n"
            f"(fused activations and views add none); bytes at {c.dtype} ({c.bytes_per_value} B/value), "
            f"batch {c.batch}, MB = 10⁶ B.")
