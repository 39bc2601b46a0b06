"""The benchmark's table: each scenario's result as a measured value, its ideal or limit, their
ratio against a target, and notes that say where a run fell short."""

from __future__ import annotations

from dataclasses import dataclass

from bench.scenarios import (
    ERROR_RATE,
    JITTER,
    LATENCY,
    RPM,
    TARGET_429,
    TARGET_CPU_MS,
    TARGET_LATENCY,
    TARGET_RATE,
    THREADS,
    plan,
)


@dataclass
class Line:
    scenario: str
    mode: str
    workers: int
    measured: str
    ideal: str
    ratio: float
    target: str
    ok: bool
    note: str = ""


def evaluate(result: dict) -> list[Line]:
    scenario = {
        "rate_limited": _rate_limited,
        "latency_bound": _latency_bound,
        "overhead": _overhead,
    }.get(result["name"])
    lines = scenario(result) if scenario else []
    if lines:
        other = max(0.0, result["foreign_cpu"]) / result["wall"]
        lines[0].note += f"; other load on the machine {other:.2f} cores"
    return lines


def _window(result: dict) -> list[list]:
    """The fake's requests (arrival, end, status) that arrived while the run was running."""
    return [r for r in result["requests"] if result["started"] <= r[0] <= result["ended"]]


def _done(result: dict) -> str:
    return f"{result['row_counts']['generated']}/{result['rows']} rows, {result['status']}"


def _rate_limited(result: dict) -> list[Line]:
    mode, workers, wall = result["mode"], result["workers"], result["wall"]
    window = _window(result)
    ok_requests = [r for r in window if r[2] == 200]
    throttled = sum(1 for r in window if r[2] == 429)
    achieved = len(ok_requests) * 60 / wall
    arrivals = sorted(r[0] for r in ok_requests)
    # The steady pace, without the first burst: requests after the first second.
    later = [t for t in arrivals if t >= arrivals[0] + 1.0] if arrivals else []
    steady = (len(later) - 1) * 60 / (later[-1] - later[0]) if len(later) > 2 else 0.0
    share = throttled / len(window) if window else 0.0
    first = arrivals[0] - result["started"] if arrivals else 0.0
    tail = result["ended"] - max(r[1] for r in ok_requests) if ok_requests else 0.0
    return [
        Line(
            "rate-limited: RPM / limit",
            mode,
            workers,
            f"{achieved:.0f} RPM",
            f"{RPM} RPM",
            achieved / RPM,
            f"≥ {TARGET_RATE:.2f}",
            achieved / RPM >= TARGET_RATE,
            f"{len(ok_requests)} answered in {wall:.1f} s (run start to finish; first "
            f"request after {first:.2f} s, finished {tail:.2f} s after the last answer); "
            f"steady pace after the first second {steady:.0f} RPM; {_done(result)}",
        ),
        Line(
            "rate-limited: 429s / requests",
            mode,
            workers,
            f"{throttled} of {len(window)}",
            "0",
            share,
            f"< {TARGET_429:.2f}",
            share < TARGET_429,
        ),
    ]


def _latency_bound(result: dict) -> list[Line]:
    mode, workers, wall, rows = result["mode"], result["workers"], result["wall"], result["rows"]
    settings = result["settings"]
    threads = workers * (settings["embedded_threads"] if mode == "embedded" else result["threads"])
    chunks = -(-rows // settings["chunk_size"])
    per_chunk = min(settings["row_concurrency"], settings["chunk_size"])
    concurrency = min(threads, chunks) * per_chunk
    ideal = concurrency / LATENCY
    measured = result["row_counts"]["generated"] / wall
    return [
        Line(
            "latency-bound: rows/s / ideal",
            mode,
            workers,
            f"{measured:.0f} rows/s",
            f"{ideal:.0f} rows/s",
            measured / ideal,
            f"≥ {TARGET_LATENCY:.2f}",
            measured / ideal >= TARGET_LATENCY,
            f"ideal = {min(threads, chunks)} threads × min(row concurrency "
            f"{settings['row_concurrency']}, chunk {settings['chunk_size']}) / "
            f"{LATENCY * 1000:.0f} ms; {_done(result)} in {wall:.1f} s; "
            f"{where_lost(result, concurrency)}; {start_and_drain_cap(result, rows / ideal)}; "
            f"{cpu_ceiling(result)}",
        )
    ]


def _overhead(result: dict) -> list[Line]:
    rows, wall = result["rows"], result["wall"]
    per_row = result["engine_cpu"] * 1000 / rows
    server = result["server_cpu"] * 1000 / rows
    fake = result["fake_cpu"] * 1000 / rows
    return [
        Line(
            "overhead: CPU ms/row / budget",
            result["mode"],
            result["workers"],
            f"{per_row:.2f} ms/row",
            f"{TARGET_CPU_MS:.0f} ms/row",
            per_row / TARGET_CPU_MS,
            "≤ 1.00",
            per_row <= TARGET_CPU_MS,
            f"{result['row_counts']['generated'] / wall:.0f} rows/s; "
            + (f"PostgreSQL + Redis servers: {server:.2f} ms/row more; " if server else "")
            + f"fake provider {fake:.2f} ms/row; DEBUG={result['settings']['debug']}; "
            + _done(result),
        )
    ]


def where_lost(result: dict, concurrency: int) -> str:
    """Where the run fell short of ``concurrency`` calls in flight, from the fake's log, in
    seconds of the whole concurrency: before its first request, while the calls in flight
    first filled up, from then until the last request went out, and while the last ones came
    back (the drain: their starts spread over a latency, so their ends are too)."""
    started, ended = result["started"], result["ended"]
    calls = [(r[0], r[1]) for r in _window(result)]
    if not calls or concurrency <= 0:
        return "no requests"
    events = sorted([(a, 1) for a, _ in calls] + [(min(b, ended), -1) for _, b in calls])
    first, last = min(a for a, _ in calls), max(a for a, _ in calls)
    lost = {"before": 0.0, "filling": 0.0, "running": 0.0, "draining": 0.0}
    phase, in_flight, now = "before", 0, started

    def add(until: float) -> None:
        lost[phase] += max(0, concurrency - in_flight) * max(0.0, until - now) / concurrency

    for moment, step in events:
        add(moment)
        now, in_flight = moment, in_flight + step
        if phase == "before" and now >= first:
            phase = "filling"
        if phase == "filling" and in_flight >= concurrency:
            phase = "running"
        if phase in ("filling", "running") and now >= last:
            phase = "draining"
    add(ended)
    return (
        f"time short of {concurrency} calls in flight: {lost['before']:.2f} s before the first "
        f"request, {lost['filling']:.2f} s filling up, {lost['running']:.2f} s running, "
        f"{lost['draining']:.2f} s draining after the last request went out"
    )


def start_and_drain_cap(result: dict, ideal_wall: float) -> str:
    """The most this run's ratio could be with no loss between its first request and its end but
    the drain: the calls of a run in full flow are spread over the latency, so its last ones end
    spread over a latency too (on average half a latency lost)."""
    arrivals = [r[0] for r in _window(result)]
    if not arrivals or ideal_wall <= 0:
        return "no requests"
    first = min(arrivals) - result["started"]
    cap = ideal_wall / (ideal_wall + first + LATENCY / 2)
    return (
        f"with its first request after {first:.2f} s and a drain of half a latency, at most "
        f"{cap:.3f} of the ideal"
    )


def cpu_ceiling(result: dict) -> str:
    """The most rows a second this machine's CPUs allow at the CPU per row this run measured:
    every process shares the cores, and one engine process runs its Python on one core at a
    time (the GIL)."""
    rows = result["row_counts"]["generated"] or 1
    engine = result["engine_cpu"] / rows
    rest = (result["fake_cpu"] + max(0.0, result["server_cpu"])) / rows
    processes = result["workers"]
    ceiling = min(result["cpus"] / (engine + rest), processes / engine) if engine else 0.0
    return (
        f"CPU per row: engine {engine * 1000:.1f} ms + fake provider and servers "
        f"{rest * 1000:.1f} ms, so {result['cpus']} CPUs sustain at most {ceiling:.0f} rows/s"
    )


def configuration(results: list[dict]) -> str:
    rows = ", ".join(f"{s['name']} {s['rows']}" for s in plan())
    settings = results[0]["settings"] if results else {}
    return (
        f"fake provider latency {LATENCY * 1000:.0f} ms ± {JITTER:.0%} (none for overhead), "
        f"limit {RPM} RPM "
        f"for rate-limited (none otherwise), error rate {ERROR_RATE:.0%}; rows: {rows}; "
        f"{THREADS} worker threads per process; STUDIO_CHUNK_SIZE "
        f"{settings.get('chunk_size')}, STUDIO_ROW_CONCURRENCY {settings.get('row_concurrency')}."
    )


def table(lines: list[Line]) -> str:
    head = "| scenario | mode | workers | measured | ideal / limit | ratio | target | result |"
    out = [head, "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for line in lines:
        out.append(
            f"| {line.scenario} | {line.mode} | {line.workers} | {line.measured} | {line.ideal} "
            f"| {line.ratio:.3f} | {line.target} | {'pass' if line.ok else 'FAIL'} |"
        )
    notes = [f"- {ln.mode}/{ln.workers} {ln.scenario}: {ln.note}" for ln in lines if ln.note]
    return "\n".join(out) + "\n\nNotes:\n" + "\n".join(notes) + "\n"
