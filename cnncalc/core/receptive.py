"""Receptive fields, one axis at a time: the field (Araujo et al., Distill 2019) and where it lies.

The field of an output position is the span of input positions it can depend on, on the
*padded plane*: as Araujo et al. compute it, the padding of every layer is mapped back onto
the input, so a field can be wider than the input (VGG16's fc6 sees 404 pixels of a 224 image)
and a strided 1×1 or a dilated kernel can leave pixels inside the span unseen.

An axis is in one of two states:

- **regular** (every layer so far slides a uniform window): position c sees
  [lo + c·j, lo + c·j + r − 1], so r (the field), j (the jump) and lo (where position 0's field
  starts, ≤ 0 with padding) say everything: r_out = r_in + (F_eff − 1)·j_in, j_out = j_in·S,
  lo_out = lo_in − P_before·j_in.
- **irregular** (after an adaptive pool whose windows are not uniform, PyTorch's window i
  spanning [⌊i·W/O⌋, ⌈(i + 1)·W/O⌉)): the field of every position is kept, as a list of
  (first, last) input positions, and each later layer works out its positions' fields from the
  actual windows. The reported field is the widest over the positions, the jump the largest
  step between the starts of neighbouring fields (a single position: the step of its window).
  Padding added after such a pool covers no input pixel (the plane is not regular there).
  Once the fields are uniform again (same width, constant step) the axis is regular again. A
  transposed conv or an upsample on an irregular axis, and an axis longer than
  ``MAX_CELLS``, fall back to the regular state with the widest field, the largest step and the
  first start: an upper bound, said in a warning.

A layer covers the whole input along an axis when the field of *every* one of its positions
spans all of the input's pixels along it (``covers``).
"""

from __future__ import annotations

MAX_CELLS = 4096  # irregular axes longer than this fall back to an upper bound (warning kind rf_bound)


def start() -> tuple:
    """An input axis: each pixel sees itself. (r, j, lo, cells): cells None = regular."""
    return (1, 1, 0, None)


def _regularise(r, j, cells):
    """An irregular axis whose fields turned uniform becomes regular again."""
    if len(cells) < 2 or None in cells:
        return None
    lo0, hi0 = cells[0]
    width, step = hi0 - lo0, cells[1][0] - lo0
    for i, (lo, hi) in enumerate(cells):
        if hi - lo != width or lo != lo0 + i * step:
            return None
    return (width + 1, step, lo0, None)


def _irregular(j_single, cells):
    widths = [hi - lo + 1 for lo, hi in (c for c in cells if c is not None)]
    r = max(widths) if widths else 0
    if len(cells) >= 2:
        starts = [c[0] for c in cells if c is not None]
        j = max((b - a for a, b in zip(starts, starts[1:])), default=0)
    else:
        j = j_single
    return _regularise(r, j, cells) or (r, j, cells[0][0] if cells[0] is not None else 0, tuple(cells))


def _cells(ax, n: int) -> list:
    r, j, lo, cells = ax
    if cells is not None:
        return list(cells)
    return [(lo + c * j, lo + c * j + r - 1) for c in range(n)]


def _valid(cells) -> tuple:
    """The first and last positions that have a field (only positions at the ends may have none)."""
    first = next((i for i, c in enumerate(cells) if c is not None), len(cells))
    last = next((i for i in range(len(cells) - 1, -1, -1) if cells[i] is not None), -1)
    return first, last


def _hull(cells, a: int, b: int, valid: tuple):
    """The span of prev positions a..b (clipped to the grid; padding covers nothing).

    Fields' starts and ends never decrease along an axis, and only positions at its ends can
    have none (all padding), so the span is the first field's start to the last one's end: O(1).
    """
    a, b = max(a, valid[0]), min(b, valid[1])
    if a > b:
        return None
    return (cells[a][0], cells[b][1])


def collapse(ax) -> tuple:
    """An upper bound in the regular state (widest field, largest step, first start)."""
    r, j, lo, cells = ax
    return (r, j, lo, None)


def window(ax, f, s, p, n_out: int):
    """A sliding window: F_eff (span), stride S, padding before P (in units of the input grid).

    Returns the new axis and whether it had to fall back to an upper bound.
    """
    r, j, lo, cells = ax
    if cells is not None and (n_out > MAX_CELLS or not isinstance(s, int) or not isinstance(p, int)):
        ax, cells = collapse(ax), None
        return window(ax, f, s, p, n_out)[0], True
    if cells is None:
        return (r + (f - 1) * j, j * s, lo - p * j, None), False
    valid = _valid(cells)
    out = [_hull(cells, i * s - p, i * s - p + f - 1, valid) for i in range(n_out)]
    return _irregular(j * s, out), False


def whole(ax, n_in: int):
    """Dense or global pooling: one position seeing all of the grid (F = S = the grid)."""
    r, j, lo, cells = ax
    if cells is None:
        return (r + (n_in - 1) * j, j * n_in, lo, None)
    h = _hull(cells, 0, n_in - 1, _valid(cells))
    starts = [c[0] for c in cells if c is not None]
    return _irregular((starts[-1] - starts[0] + j) if starts else j, [h])


def adaptive(ax, n_in: int, n_out: int):
    """PyTorch's adaptive pooling: window i spans [⌊i·W/O⌋, ⌈(i + 1)·W/O⌉) of the input grid."""
    if n_in % n_out == 0:  # uniform windows: a plain window of W/O with stride W/O
        k = n_in // n_out
        return window(ax, k, k, 0, n_out)
    if n_out > MAX_CELLS or (ax[3] is not None and n_in > MAX_CELLS):
        # upper bound: the widest window is at most ⌈W/O⌉ + 1 positions, the step at most ⌈W/O⌉
        r, j, lo, _ = collapse(ax)
        k = -(-n_in // n_out)
        return (r + k * j, j * k, lo, None), True
    r, j, lo, cells = ax
    bounds = [((i * n_in) // n_out, -(-((i + 1) * n_in) // n_out) - 1) for i in range(n_out)]
    if cells is None:  # position c of a regular axis sees [lo + c·j, lo + c·j + r − 1]
        out = [(lo + a * j, lo + b * j + r - 1) for a, b in bounds]
    else:
        valid = _valid(cells)
        out = [_hull(cells, a, b, valid) for a, b in bounds]
    return _irregular(ax[1] * -(-n_in // n_out), out), False


def merge(axes, n: int):
    """Branches meeting in add/concat: the widest field, the largest jump, the earliest start;
    irregular branches on one grid are merged position by position."""
    if all(a[3] is None for a in axes):
        return (max(a[0] for a in axes), max(a[1] for a in axes), min(a[2] for a in axes), None)
    if n > MAX_CELLS or any(a[3] is not None and len(a[3]) != n for a in axes):
        return merge([collapse(a) for a in axes], n)
    lists = [_cells(a, n) for a in axes]
    out = []
    for cs in zip(*lists):
        cs = [c for c in cs if c is not None]
        out.append((min(c[0] for c in cs), max(c[1] for c in cs)) if cs else None)
    return _irregular(max(a[1] for a in axes), out)


def regrid(ax):
    """The grid changed under a layer with no window (reshape): keep an upper bound."""
    return collapse(ax)


def covers(ax, n: int, size: int) -> bool:
    """Does the field of every one of the n positions span all ``size`` input pixels?"""
    r, j, lo, cells = ax
    if cells is None:
        last_start = lo + (n - 1) * j if j > 0 else lo
        return last_start <= 0 and lo + r - 1 >= size - 1
    if None in cells:
        return False
    return max(c[0] for c in cells) <= 0 and min(c[1] for c in cells) >= size - 1
