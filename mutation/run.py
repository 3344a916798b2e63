"""Mutation testing of the metrics, the simulated world and the fault injectors, with
mutmut: every small change to the code (a `<` for a `<=`, a constant off by one, a dropped
call) should make some test fail. Writes the score per package to mutation/SCORES.md.

    pip install -e ".[mutation]"
    python mutation/run.py                     # all three packages (hours on 2 cores)
    python mutation/run.py metrics             # one package
    python mutation/run.py metrics --max-children 1
    python mutation/run.py metrics --survivors # after adding tests: retest the survivors

Each package runs in a scratch copy of the repo (the working tree as it is, so uncommitted
tests count) with its own test selection; mutmut forks the loaded test session per mutant
and runs only the selected tests that reach the mutated function. Survivors judged
equivalent (no test could tell them apart from the original) are listed, with the reason,
in mutation/equivalent.toml; the score leaves them out and says how many there were.
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCORES = REPO / "mutation" / "SCORES.md"
EQUIVALENT = REPO / "mutation" / "equivalent.toml"
RESULTS = REPO / "mutation" / "results"  # one JSON per package: each mutant's verdict

#: Tests too slow to run once per mutant (they stay in the ordinary suite): the long
#: queueing runs, and runs of the reference agents through a 20-minute outage.
SLOW = ("not mmc and not littles_law and not resilient_router_detects and not "
        "naive_router_fails and not recovery_is_null and not catalog_matches")


@dataclass(frozen=True)
class Package:
    name: str
    mutate: tuple[str, ...]  # globs of the files mutated
    tests: tuple[str, ...]  # the test files that judge them
    target: float  # the score the project holds itself to


PACKAGES = {p.name: p for p in (
    Package("metrics", ("simharness/metrics/*",),
            ("tests/test_metric_figures.py", "tests/test_metric_rules.py",
             "tests/test_metrics.py", "tests/test_metrics_validity.py",
             "tests/test_client_audit.py"), 0.90),
    Package("world", ("simharness/world/*", "simharness/world/llm/*"),
            ("tests/test_llm_behaviour.py", "tests/test_llm_apis.py",
             "tests/test_llm_api_faults.py", "tests/test_schema_fill.py", "tests/test_faults.py",
             "tests/test_input_faults.py", "tests/test_scenario.py", "tests/test_engine.py",
             "tests/test_simulated_time.py"), 0.80),
    Package("fault_injectors", ("fault_injectors/*",),
            ("tests/test_faults.py", "tests/test_input_faults.py", "tests/test_scenario.py",
             "tests/test_llm_behaviour.py"), 0.80),
)}


@dataclass
class Outcome:
    package: Package
    date: str = field(default_factory=lambda: datetime.date.today().isoformat())
    statuses: dict[str, str] = field(default_factory=dict)  # mutant -> mutmut's verdict
    diffs: dict[str, str] = field(default_factory=dict)  # survivor -> its diff

    def count(self, status: str) -> int:
        return sum(s == status for s in self.statuses.values())

    def save(self) -> None:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"{self.package.name}.json").write_text(json.dumps(
            {"date": self.date, "statuses": self.statuses, "diffs": self.diffs},
            indent=1, sort_keys=True) + "\n")

    @classmethod
    def load(cls, package: Package) -> Outcome | None:
        path = RESULTS / f"{package.name}.json"
        if not path.exists():
            return None
        data = json.loads(path.read_text())
        return cls(package, data["date"], data["statuses"], data["diffs"])


def config(package: Package) -> str:
    """The [tool.mutmut] table for one package."""
    tests = [t for t in package.tests if (REPO / t).exists()]
    quoted = ", ".join(f'"{t}"' for t in tests)
    return f"""
[tool.mutmut]
source_paths = ["simharness", "fault_injectors"]
only_mutate = [{", ".join(f'"{m}"' for m in package.mutate)}]
pytest_add_cli_args_test_selection = [{quoted}]
pytest_add_cli_args = ["-p", "no:cacheprovider", "-q", "-k", "{SLOW}"]
also_copy = ["scenarios", "README.md", "benchmarks"]
"""


def copy_repo(into: Path) -> Path:
    root = into / "repo"
    shutil.copytree(REPO, root, ignore=shutil.ignore_patterns(
        ".git", "runs", "mutants", "__pycache__", "*.egg-info", ".*_cache"))
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text()
    pyproject.write_text(re.sub(r"\n\[tool\.mutmut\].*?(?=\n\[|\Z)", "", text, flags=re.S))
    return root


def mutmut(root: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "mutmut", *args], cwd=root, text=True,
                          capture_output=True)
    if done.returncode != 0:
        raise SystemExit(f"mutmut {' '.join(args)} failed:\n{done.stdout[-3000:]}\n"
                         f"{done.stderr[-3000:]}")
    return done.stdout


def run_package(package: Package, max_children: int, only: list[str] | None = None) -> Outcome:
    """Run mutmut on `package` (only the mutants named in `only`, if given)."""
    with tempfile.TemporaryDirectory(prefix=f"mutation-{package.name}-") as tmp:
        root = copy_repo(Path(tmp))
        with (root / "pyproject.toml").open("a") as f:
            f.write(config(package))
        print(f"[{package.name}] mutmut run in {root} ...", flush=True)
        subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children",
                        str(max_children), *(only or [])], cwd=root, check=True)
        outcome = Outcome(package)
        for line in mutmut(root, "results", "--all", "true").splitlines():
            name, sep, status = line.strip().rpartition(": ")
            if sep and name and (only is None or name in only):
                outcome.statuses[name] = status
        for name, status in outcome.statuses.items():
            if status in ("survived", "no tests"):
                outcome.diffs[name] = mutmut(root, "show", name)
        return outcome


def rerun_survivors(package: Package, max_children: int) -> Outcome:
    """Test the last run's survivors again (after new tests), keeping the other verdicts."""
    last = Outcome.load(package)
    if last is None:
        raise SystemExit(f"no earlier run of {package.name} to take the survivors from")
    survivors = [n for n, s in last.statuses.items() if s in ("survived", "no tests")]
    again = run_package(package, max_children, survivors)
    last.statuses.update(again.statuses)
    last.diffs = {n: d for n, d in {**last.diffs, **again.diffs}.items()
                  if last.statuses[n] in ("survived", "no tests")}
    last.date = again.date
    return last


def equivalent() -> dict[str, str]:
    """Survivors judged equivalent: mutant name -> why no test can tell."""
    if not EQUIVALENT.exists():
        return {}
    return {name: entry["why"] for name, entry in tomllib.loads(EQUIVALENT.read_text()).items()}


def score(outcome: Outcome, judged: dict[str, str]) -> tuple[int, int, float]:
    """(killed, counted, score): killed includes timeouts; equivalents are not counted."""
    statuses = outcome.statuses
    killed = sum(s in ("killed", "timeout") for s in statuses.values())
    counted = sum(1 for name, s in statuses.items()
                  if s not in ("skipped", "not checked") and name not in judged)
    return killed, counted, killed / counted if counted else float("nan")


def diff_body(diff: str) -> str:
    """The changed lines of a mutant's diff."""
    return "\n".join(line for line in diff.splitlines()
                     if line[:1] in "+-" and not line.startswith(("+++", "---")))


def report(outcomes: list[Outcome]) -> str:
    judged = equivalent()
    lines = ["# Mutation scores", "",
             "Written by `python mutation/run.py [PACKAGE ...]` from the verdicts in "
             "`mutation/results/`; do not edit by hand. Equivalent mutants are listed with "
             "the reason in `mutation/equivalent.toml` and left out of the score; a timeout "
             "counts as killed.", "",
             "| package | run on | mutants | checked | killed | survived | no tests | "
             "equivalent | score | target |", "|---|---|---|---|---|---|---|---|---|---|"]
    sections: list[str] = []
    for outcome in outcomes:
        killed, counted, value = score(outcome, judged)
        equiv = [n for n, s in outcome.statuses.items() if n in judged and s == "survived"]
        survived = outcome.count("survived") - len(equiv)
        p = outcome.package
        unchecked = outcome.count("not checked") + outcome.count("skipped")
        lines.append(f"| {p.name} (`{'`, `'.join(p.mutate)}`) | {outcome.date} | "
                     f"{len(outcome.statuses)} | {len(outcome.statuses) - unchecked} | "
                     f"{killed} | {survived} | {outcome.count('no tests')} | {len(equiv)} | "
                     f"{value:.1%} | ≥ {p.target:.0%} {'✔' if value >= p.target else '✘'} |")
        sections += [f"## {p.name}", "", "Tests: " + ", ".join(
            f"`{t}`" for t in p.tests if (REPO / t).exists()) + ".", ""]
        if unchecked:
            sections += [f"**{unchecked} of {len(outcome.statuses)} mutants were not "
                         "checked** (the run was stopped); the score covers the checked "
                         "ones only.", ""]
        if equiv:
            sections += ["Equivalent survivors:", ""]
            sections += [f"- `{n}`: {judged[n]}" for n in sorted(equiv)]
            sections.append("")
        rest = sorted(n for n, s in outcome.statuses.items()
                      if s in ("survived", "no tests") and n not in judged)
        if rest:
            sections += ["Other survivors (not yet killed):", ""]
            for name in rest:
                body = diff_body(outcome.diffs.get(name, "")) or "(no tests reach it)"
                sections += [f"- `{name}`", "", "  ```diff", *(f"  {line}" for line in
                                                             body.splitlines()), "  ```"]
            sections.append("")
    return "\n".join(lines) + "\n\n" + "\n".join(sections)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("packages", nargs="*", metavar="PACKAGE",
                        help=f"packages to mutate: {', '.join(PACKAGES)} (default: all)")
    parser.add_argument("--max-children", type=int, default=2,
                        help="mutants tested at once (default 2)")
    parser.add_argument("--survivors", action="store_true",
                        help="only test the last run's survivors again (after adding tests)")
    args = parser.parse_args()
    unknown = [name for name in args.packages if name not in PACKAGES]
    if unknown:
        parser.error(f"unknown package {unknown[0]!r}; choose from {', '.join(PACKAGES)}")
    for name in args.packages or list(PACKAGES):
        package = PACKAGES[name]
        if args.survivors:
            rerun_survivors(package, args.max_children).save()
        else:
            run_package(package, args.max_children).save()
    outcomes = [o for o in map(Outcome.load, PACKAGES.values()) if o is not None]
    text = report(outcomes)
    SCORES.write_text(text)
    print(text.split("\n\n## ")[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
