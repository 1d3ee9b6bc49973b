"""Runs the expression benchmark with tiny numbers so that it keeps working."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_expressions.py"


def test_benchmark_runs(capsys: object) -> None:
    spec = importlib.util.spec_from_file_location("bench_expressions", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    figures = module.run(records=20, evaluations=100, compiles=5, repeat=1)
    assert figures["evaluations"] == 100
    assert figures["ratio"] > 0
    assert figures["parse_check_compile_us"] > 0 and figures["cache_hit_us"] > 0
    assert (
        module.main(["--records", "10", "--evaluations", "10", "--compiles", "2", "--repeat", "1"])
        == 0
    )
