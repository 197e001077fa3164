"""``cnncalc values``: the numbers a network computes from the numbers a spec gives.

- ``tensor``: reading ``values: {input: …}`` (exact numbers, H×W×C nesting) — at build time.
- ``run``: the forward walk; each layer type's numeric forward lives in its class
  (``Layer.forward`` in cnncalc/layers), this module only feeds it.
- ``show``: grids, JSON, and the worked dot product of any output cell (``--explain``, ``--cell``).
- ``grade``: matrix answers on answer sheets, cell by cell.
"""
