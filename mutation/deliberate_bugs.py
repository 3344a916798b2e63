"""Plant each of a fixed list of deliberate bugs in a scratch copy of the repo, run the
tests, and say which bugs the suite misses.

    python mutation/deliberate_bugs.py                  # every bug, the whole suite
    python mutation/deliberate_bugs.py -k by_tag -- tests/test_figures.py

These are the bugs a mutation probe found surviving the suite once: each is a small,
plausible slip in a figure users read. The suite must catch every one; a bug whose text
no longer occurs in the source (the code moved) is an error, so the list stays current.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Bug:
    name: str
    what: str
    path: str
    old: str
    new: str


BUGS = (
    Bug("percentiles", "latency percentiles shifted down 5 points (p95 reported as p90)",
        "simharness/metrics/_common.py",
        "np.percentile(values, float(name[1:]))", "np.percentile(values, float(name[1:]) - 5)"),
    Bug("no_queue_wait", "end-to-end latency without the queue wait",
        "simharness/metrics/_common.py",
        "r.wait_s + r.service_s if", "r.service_s if"),
    Bug("by_tag", "routing.by_tag.<tag> replaced by overall accuracy",
        "simharness/metrics/routing.py",
        '"by_tag": {t: routing_accuracy(own)', '"by_tag": {t: routing_accuracy(records)'),
    Bug("baseline", "routing.accuracy@baseline computed over all tickets, faults included",
        "simharness/metrics/routing.py",
        '"accuracy@baseline": routing_accuracy([r for r in records\n'
        '                                                  if not in_windows(r, spans)])',
        '"accuracy@baseline": routing_accuracy(records)'),
    Bug("tag_accuracy", "the simulated model ignores its per-tag accuracy",
        "simharness/world/llm/judgement.py",
        "tier.config.accuracy.for_ticket(truth, tags)", "tier.config.accuracy.default"),
    Bug("route_accuracy", "the simulated model ignores its per-route accuracy",
        "simharness/world/llm/judgement.py",
        "tier.config.accuracy.for_ticket(truth, tags)", "tier.config.accuracy.for_tags(tags)"),
    Bug("confusion", "the simulated model's wrong answers ignore the tier's confusion",
        "simharness/world/llm/judgement.py",
        "self._wrong(truth, u_pick, tier.config.confusion)", "self._wrong(truth, u_pick, {})"),
    Bug("rpm", "the per-tier rpm limit never fires",
        "simharness/world/llm/tier.py",
        "if self.rpm is None:\n            return None\n        recent = self._recent\n"
        "        while",
        "if True:\n            return None\n        recent = self._recent\n        while"),
    Bug("injection", "prompt injection never changes the model's answer",
        "simharness/world/llm/judgement.py",
        "hijack = injected_route(prompt)", "hijack = None"),
    Bug("per_token", "no per-output-token latency",
        "simharness/world/llm/service.py",
        "first_token + tier.per_output_token * completion.tokens_out", "first_token"),
    Bug("compare_columns", "compare swaps the unhandled-errors and failed-tickets columns",
        "simharness/compare.py",
        'errors=m["tickets"]["error"], failed=m["tickets"]["failed"]',
        'errors=m["tickets"]["failed"], failed=m["tickets"]["error"]'),
)


def plant(bug: Bug, root: Path) -> None:
    """Apply `bug` to the copy at `root`; its text must occur exactly once."""
    path = root / bug.path
    text = path.read_text()
    count = text.count(bug.old)
    if count != 1:
        raise SystemExit(f"{bug.name}: expected the text once in {bug.path}, found it "
                         f"{count} times; update BUGS in {Path(__file__).name}")
    path.write_text(text.replace(bug.old, bug.new))


def copy_repo(repo: Path, into: Path) -> Path:
    root = into / "repo"
    shutil.copytree(repo, root, ignore=shutil.ignore_patterns(
        ".git", "runs", "mutants", "__pycache__", "*.egg-info", ".*_cache"))
    return root


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", dest="only", help="only bugs whose name contains this")
    parser.add_argument("--together", action="store_true",
                        help="plant every selected bug in one copy and run the tests once "
                             "(a quick check that none is caught)")
    parser.add_argument("--repo", type=Path, default=REPO,
                        help="the checkout to copy (default: this one)")
    parser.add_argument("pytest_args", nargs="*", help="arguments for pytest (after --)")
    args = parser.parse_args()
    bugs = [b for b in BUGS if args.only is None or args.only in b.name]
    groups = [bugs] if args.together else [[b] for b in bugs]
    survivors = []
    for group in groups:
        name = "+".join(b.name for b in group)
        with tempfile.TemporaryDirectory(prefix="bug-") as tmp:
            root = copy_repo(args.repo, Path(tmp))
            for bug in group:
                plant(bug, root)
            env = {**os.environ, "PYTHONPATH": str(root)}
            command = [sys.executable, "-m", "pytest", "-q", *([] if args.together else ["-x"]),
                       "-p", "no:cacheprovider",
                       *(args.pytest_args or [])]
            done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
            last = (done.stdout.strip().splitlines() or [""])[-1]
            caught = done.returncode == 1
            if done.returncode not in (0, 1):
                print(done.stdout[-3000:], done.stderr[-3000:], sep="\n")
                raise SystemExit(f"{name}: pytest exited {done.returncode}")
            failed = [line.split(" ", 1)[1].split(" - ")[0]
                      for line in done.stdout.splitlines() if line.startswith("FAILED ")]
            what = "; ".join(b.what for b in group)
            print(f"{'caught ' if caught else 'SURVIVED'} {name:16} {what}\n"
                  f"         {', '.join(failed) or last}", flush=True)
            if not caught:
                survivors.append(name)
    print(f"{len(groups) - len(survivors)} of {len(groups)} caught"
          + (f"; survivors: {', '.join(survivors)}" if survivors else ""))
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
