"""Benchmark of the expression language (run: ``python tests/bench/bench_expressions.py``).

Measures, in one run: evaluating a ~100-character rule over 1,000 records (100,000
evaluations by default) against an equivalent hand-written Python function; the record
service's per-record call path (``RecordEvaluator.holds``: the published app's compiled
expression looked up, then evaluated) against the compiled function called directly; the time to
parse, check and compile the rule (cache bypassed), with the median of each stage; and a
compile-cache hit. The generated and hand-written evaluations run in interleaved rounds
(``--repeat``); each prints its median with the min–max spread, and the load average is
printed before and after.
Not a pytest test: ``tests/unit/expressions/test_bench_smoke.py`` runs it with tiny numbers.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from expressions import (  # noqa: E402
    DATETIME,
    DECIMAL,
    INTEGER,
    TEXT,
    EntitySpec,
    EvalContext,
    FieldSpec,
    Scope,
    clear_cache,
    compile_expression,
)

RULE = (
    'amount >= 10000 and stage == "negotiation" and contains(transcript, "预算")'
    " and coalesce(referrals, 0) > 0"
)
SCOPE = Scope(
    "deal",
    (
        EntitySpec(
            "deal",
            (
                FieldSpec("id", INTEGER),
                FieldSpec("created_at", DATETIME),
                FieldSpec("amount", DECIMAL),
                FieldSpec("stage", TEXT),
                FieldSpec("transcript", TEXT),
                FieldSpec("referrals", INTEGER),
            ),
        ),
    ),
)
NOW = datetime(2026, 3, 18, 2, 30, tzinfo=UTC)


def hand_written(r: Mapping[str, Any]) -> bool:
    """The rule written by hand, with the same null handling."""
    amount = r.get("amount")
    transcript = r.get("transcript")
    referrals = r.get("referrals")
    return (
        amount is not None
        and amount >= 10000
        and r.get("stage") == "negotiation"
        and transcript is not None
        and "预算" in transcript
        and (referrals if referrals is not None else 0) > 0
    )


def make_records(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """``n`` varied records (some nulls) for the rule."""
    rng = random.Random(seed)
    stages = ["lead", "negotiation", "won", None]
    texts = ["客户提到预算充足", "没有预算", "需要再跟进", None, "预算待定，领导重视"]
    return [
        {
            "id": i,
            "created_at": NOW - timedelta(hours=i),
            "amount": None if i % 11 == 0 else Decimal(rng.randint(0, 50_000)),
            "stage": rng.choice(stages),
            "transcript": rng.choice(texts),
            "referrals": None if i % 5 == 0 else rng.randint(0, 3),
        }
        for i in range(n)
    ]


def _service_evaluator() -> tuple[Any, Any]:
    """A ``RecordEvaluator`` of a published app whose entity ``deal`` has SCOPE, and the entity.

    No database: the rule reads only the record, so the evaluator's resolver is never used.
    """
    from types import SimpleNamespace

    from runtime.apps import PublishedApp
    from runtime.clock import FrozenClock
    from runtime.context import Actor, CallContext
    from runtime.evaluation import RecordEvaluator
    from runtime.models import Workspace
    from runtime.visibility import Visibility

    app = PublishedApp(
        app_id=1, key="bench", workspace_id=1, revision_id=1, revision_number=1,
        definition=None, tables={}, _scopes={"deal": SCOPE},  # type: ignore[arg-type]
    )
    ctx = CallContext(
        session=None,  # type: ignore[arg-type]
        workspace=Workspace(id=1, key="bench", name="Bench", timezone="Asia/Shanghai"),
        actor=Actor(id=1, workspace_id=1, role="rep", name="rep"),
        clock=FrozenClock(NOW),
    )
    return RecordEvaluator(ctx, app, visibility=Visibility.everything(app)), SimpleNamespace(key="deal")


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def _time(fn: Callable[[], None], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def stages(compiles: int) -> dict[str, float]:
    """Median µs of each stage of a cold compile of RULE, timed in one pipeline."""
    from expressions.check import sql_depth
    from expressions.checker import Checker
    from expressions.limits import prescan
    from expressions.parser import parse
    from expressions.pycompiler import compile_python

    clock = time.perf_counter
    samples: dict[str, list[float]] = {
        "prescan": [],
        "parse": [],
        "check": [],
        "sql_depth": [],
        "compile": [],
    }
    for i in range(compiles):
        source = RULE + " " * (i % 3)
        t0 = clock()
        prescan(source)
        t1 = clock()
        tree, _ = parse(source)
        t2 = clock()
        assert tree is not None
        typed = Checker(SCOPE).run(tree)
        t3 = clock()
        assert typed is not None
        sql_depth(typed)
        t4 = clock()
        compile_python(typed)
        t5 = clock()
        for key, value in zip(samples, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4), strict=True):
            samples[key].append(value)
    return {key: statistics.median(values) * 1e6 for key, values in samples.items()}


def run(
    records: int = 1_000, evaluations: int = 100_000, compiles: int = 2_000, repeat: int = 5
) -> dict[str, float]:
    """Run the benchmark; returns the figures (seconds and µs) and prints them."""
    ctx = EvalContext(NOW, ZoneInfo("Asia/Shanghai"))
    rows = make_records(records)
    compiled = compile_expression(RULE, SCOPE)
    evaluate = compiled.evaluate
    rounds = max(1, evaluations // records)
    for r in rows:  # same answers, or the comparison means nothing
        assert bool(evaluate(r, ctx)) == hand_written(r), r

    def generated() -> None:
        for _ in range(rounds):
            for r in rows:
                evaluate(r, ctx)

    def by_hand() -> None:
        for _ in range(rounds):
            for r in rows:
                hand_written(r)

    def timed(fn: Callable[[], None]) -> Callable[[], float]:
        def sample() -> float:
            start = time.perf_counter()
            fn()
            return time.perf_counter() - start
        return sample

    evaluator, entity = _service_evaluator()
    holds = evaluator.holds
    for r in rows:  # the service path answers the same
        assert holds(entity, RULE, r, False) == (evaluate(r, evaluator.context) is True), r
    service_ctx = evaluator.context

    def direct() -> None:
        for _ in range(rounds):
            for r in rows:
                evaluate(r, service_ctx)

    def service() -> None:
        for _ in range(rounds):
            for r in rows:
                holds(entity, RULE, r, False)

    # Interleaved rounds (generated, hand-written, generated, …): all feel the same machine.
    load_before = _load()
    samples: dict[str, list[float]] = {"generated": [], "hand-written": [], "service path": [], "compiled alone": []}
    for _ in range(max(1, repeat)):
        samples["generated"].append(timed(generated)())
        samples["hand-written"].append(timed(by_hand)())
        samples["service path"].append(timed(service)())
        samples["compiled alone"].append(timed(direct)())
    load_after = _load()
    t_generated = statistics.median(samples["generated"])
    t_hand = statistics.median(samples["hand-written"])
    t_service = statistics.median(samples["service path"])
    t_direct = statistics.median(samples["compiled alone"])

    def cold() -> None:
        for i in range(compiles):
            clear_cache()
            compile_expression(RULE + " " * (i % 3), SCOPE)

    t_cold = _time(cold, max(1, repeat // 2)) / compiles
    compile_expression(RULE, SCOPE)

    def warm() -> None:
        for _ in range(compiles * 10):
            compile_expression(RULE, SCOPE)

    t_warm = _time(warm, repeat) / (compiles * 10)
    breakdown = stages(compiles)
    total = rounds * len(rows)
    figures = {
        "evaluations": float(total),
        "generated_s": t_generated,
        "hand_written_s": t_hand,
        "ratio": t_generated / t_hand,
        "service_ratio": t_service / t_direct,
        "generated_ns_per_eval": t_generated / total * 1e9,
        "hand_ns_per_eval": t_hand / total * 1e9,
        "parse_check_compile_us": t_cold * 1e6,
        "cache_hit_us": t_warm * 1e6,
        **{f"stage_{key}_us": value for key, value in breakdown.items()},
    }
    print(f"rule ({len(RULE)} chars): {RULE}")
    print(f"{total:,} evaluations over {len(rows):,} records, {max(1, repeat)} interleaved rounds")
    print(f"  load average before: {load_before}")
    for name, values in samples.items():
        per_eval = sorted(v / total * 1e9 for v in values)
        print(
            f"  {name + ':':<13} {statistics.median(values) * 1e3:8.2f} ms median; "
            f"{statistics.median(per_eval):.0f} ns/eval ({per_eval[0]:.0f}–{per_eval[-1]:.0f})"
        )
    print(f"  ratio of medians generated / hand-written: {figures['ratio']:.2f}  (goal ≤ 1.5)")
    print(f"  ratio of medians service path / compiled alone: {figures['service_ratio']:.2f}  (goal ≤ 2)")
    print(f"  load average after:  {load_after}")
    print(f"parse + check + compile: {figures['parse_check_compile_us']:.0f} µs")
    print(
        "  of which (medians): "
        + ", ".join(f"{key} {value:.0f} µs" for key, value in breakdown.items())
    )
    print(f"compile cache hit:       {figures['cache_hit_us']:.2f} µs")
    return figures


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1_000)
    parser.add_argument("--evaluations", type=int, default=100_000)
    parser.add_argument("--compiles", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    run(args.records, args.evaluations, args.compiles, args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
