"""Summarise a py-spy ``--format raw`` profile (collapsed stacks): where the samples went.

    python tests/benchmark/profile_summary.py bench-results/profile-complex.txt [--top 25]

Prints the share of samples by area (the package a sample's innermost frame belongs to), then the
functions with the most samples of their own (self) and under them (inclusive). Samples of the
SQLite connection threads waiting for work are dropped: py-spy counts that wait as activity.
"""
from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

_LINE = re.compile(r" \(([^()]*?):\d+\)$")
_IDLE = "_connection_worker_thread (aiosqlite/core.py:59)"  # aiosqlite's thread blocked on its queue
AREAS = (  # (area, substring of the innermost frame), first match wins
    ("SQLite (the trace-writing thread)", "aiosqlite/"),
    ("socket writes (the send system call)", "StreamWriter._writelines "),
    ("Orion kernel", "orion_kernel/"),
    ("Orion built-in plugins (task functions, JSONLogic)", "orion_builtins/"),
    ("aiohttp (HTTP parsing, routing, responses)", "aiohttp/"),
    ("event loop and socket I/O (uvloop, asyncio)", "asyncio/"),
)


def function_of(frame: str) -> str:
    """``handle_data (orion_kernel/http/data.py:97)`` → ``handle_data (orion_kernel/http/data.py)``."""
    return _LINE.sub(r" (\1)", frame.strip())


def area_of(frame: str) -> str:
    return next((name for name, marker in AREAS if marker in frame), "other (yarl, multidict, stdlib, ...)")


def summarise(lines: list[str]) -> tuple[int, Counter[str], Counter[str], Counter[str]]:
    """``(samples, by area, self by function, inclusive by function)``."""
    total, areas, own, under = 0, Counter[str](), Counter[str](), Counter[str]()
    for line in lines:
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if not stack or not count.isdigit() or stack.endswith(_IDLE):
            continue
        samples = int(count)
        frames = [f for f in stack.split(";") if f]
        total += samples
        areas[area_of(frames[-1])] += samples
        own[function_of(frames[-1])] += samples
        for name in {function_of(f) for f in frames}:
            under[name] += samples
    return total, areas, own, under


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    total, areas, own, under = summarise(args.profile.read_text(encoding="utf-8").splitlines())
    if not total:
        print(f"{args.profile}: no samples", file=sys.stderr)
        return 1
    print(f"{args.profile.name}: {total} samples\n\n   %  area")
    for name, samples in areas.most_common():
        print(f"{100 * samples / total:4.0f}  {name}")
    for title, counter in (("self", own), ("incl", under)):
        print(f"\n{title} %  function")
        for name, samples in counter.most_common(args.top):
            print(f"{100 * samples / total:6.1f}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
