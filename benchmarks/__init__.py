"""The benchmark suite behind ``rpa-vision bench``.

Cases live in ``benchmarks/cases/`` (one module per area, discovered automatically) and
register themselves with ``@bench_case``. Figures are reported, never asserted.
"""
