"""Summarise a py-spy ``--format raw`` profile (collapsed stacks): where the samples went.

    python tests/benchmark/profile_summary.py bench-results/profile-complex.txt [--top 25]

Prints the functions with the most samples of their own (self) and the most samples under them
(inclusive), each as a share of all samples.
"""
from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

_LINE = re.compile(r" \(([^()]*?):\d+\)$")


def function_of(frame: str) -> str:
    """``handle_data (orion_kernel/http/data.py:97)`` → ``handle_data (orion_kernel/http/data.py)``."""
    frame = _LINE.sub(r" (\1)", frame.strip())
    return re.sub(r"\(/.*?/(site-packages|kernel|plugins|lib/python3\.\d+)/", "(", frame)


def summarise(lines: list[str]) -> tuple[int, Counter[str], Counter[str]]:
    total, own, under = 0, Counter[str](), Counter[str]()
    for line in lines:
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        frames = [function_of(f) for f in stack.split(";") if f]
        total += samples
        own[frames[-1]] += samples
        for name in set(frames):
            under[name] += samples
    return total, own, under


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    total, own, under = summarise(args.profile.read_text(encoding="utf-8").splitlines())
    if not total:
        print(f"{args.profile}: no samples", file=sys.stderr)
        return 1
    print(f"{args.profile.name}: {total} samples\n\nself %  function")
    for name, samples in own.most_common(args.top):
        print(f"{100 * samples / total:6.1f}  {name}")
    print("\nincl %  function")
    for name, samples in under.most_common(args.top):
        print(f"{100 * samples / total:6.1f}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
