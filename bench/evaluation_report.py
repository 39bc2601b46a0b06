"""The evaluation benchmark's table (bench/evaluation.py): each kind end to end against its bare
loop, by wall time and by CPU time, and the bound the read-and-write path puts on the ratio.

The bound: a row costs the studio the ``pipeline`` kind's time (read the row, write a score,
the summary; no metric) plus the metric's own time, which is at best the bare loop's. So the
ratio cannot exceed ``m / (m + p)``, m the bare loop's seconds per row and p the pipeline's.
For a metric that takes 10 µs a row, 0.7 needs the whole path under 4.3 µs a row — less than
decoding the row's JSON and encoding its score — so cheap kinds are printed with what would
move them (a path of p ≤ m · (1/0.7 − 1) µs a row)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import Any

TARGET = 0.7


def _bound(result: dict[str, Any], pipeline: dict[str, Any] | None) -> tuple[float, float, float]:
    """(bound on the ratio, the pipeline's µs a row, the µs a row the pipeline may take for the
    target), from wall times."""
    if pipeline is None or "bare_rows_s" not in result:
        return float("nan"), float("nan"), float("nan")
    metric = 1e6 / result["bare_rows_s"]
    path = 1e6 / pipeline["e2e_rows_s"]
    return metric / (metric + path), path, metric * (1 / TARGET - 1)


def _ratio(result: dict[str, Any], key: str) -> str:
    if key not in result:
        return "—"
    text = f"{result[key]:.2f}"
    if result["case"] != "pipeline" and result[key] < TARGET:
        text += " ✗"
    return text


def table(results: list[dict[str, Any]], database: str, rows: int) -> Iterator[str]:
    pipeline = next((r for r in results if r["case"] == "pipeline"), None)
    yield (
        "| kind | rows | bare rows/s | studio rows/s | ratio | CPU: bare / studio rows/s | "
        "ratio (CPU) | bound | CPU µs/row: worker + PostgreSQL | peak RSS (before) |"
    )
    yield "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for r in results:
        bare = f"{r['bare_rows_s']:,.0f}" if "bare_rows_s" in r else "—"
        bare_cpu = f"{r['bare_cpu_rows_s']:,.0f}" if "bare_cpu_rows_s" in r else "—"
        bound = _bound(r, pipeline)[0] if r["case"] != "pipeline" else float("nan")
        yield (
            f"| {r['case']} | {r['rows']:,} | {bare} | {r['e2e_rows_s']:,.0f} | "
            f"{_ratio(r, 'ratio')} | {bare_cpu} / {r['e2e_cpu_rows_s']:,.0f} | "
            f"{_ratio(r, 'ratio_cpu')} | {'—' if bound != bound else f'{bound:.2f}'} | "
            f"{r['e2e_cpu_us_row']:,.0f} + {r['pg_cpu_us_row']:,.0f} | "
            f"{r['rss_peak_mib']:.0f} MiB ({r['rss_before_mib']:.0f}) |"
        )
    yield ""
    yield (
        f"{database}, {rows:,} rows a kind (math_equivalence: see its rows), chunks scored "
        "in-process one after another "
        f"(python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f} at the end)."
    )
    yield from _out_of_reach(results, pipeline)


def _out_of_reach(results: list[dict[str, Any]], pipeline: dict[str, Any] | None) -> Iterator[str]:
    """For each kind under the target: the bound and what would move it."""
    lines = []
    for r in results:
        if r["case"] == "pipeline" or r.get("ratio", 1.0) >= TARGET:
            continue
        bound, path, needed = _bound(r, pipeline)
        if bound != bound:
            continue
        verdict = "out of reach of any path" if bound < TARGET else "within the bound"
        lines.append(
            f"- {r['case']}: bound {bound:.2f} ({verdict}): its bare loop takes "
            f"{1e6 / r['bare_rows_s']:,.1f} µs a row, the read-and-write path "
            f"{path:,.1f} µs; 0.7 needs the path under {needed:,.1f} µs a row."
        )
    if lines:
        yield ""
        yield (
            "Under the target (bound = bare / (bare + pipeline) seconds a row, the pipeline "
            "being the same path with no metric):"
        )
        yield from lines


def million_lines(results: list[dict[str, Any]]) -> list[str]:
    lines = []
    for result in results:
        ratio = f", ratio {result['ratio']:.2f}" if "ratio" in result else ""
        lines.append(
            f"{result['rows']:,} rows of {result['case']}: {result['e2e_rows_s']:,.0f} rows/s "
            f"end to end{ratio}, peak RSS {result['rss_peak_mib']:.0f} MiB "
            f"({result['rss_before_mib']:.0f} before), {result['e2e_seconds']:.0f} s."
        )
    return lines
