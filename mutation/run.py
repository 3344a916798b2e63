"""Mutation testing of the metrics, the simulated world and the fault injectors, with
mutmut: every small change to the code (a `<` for a `<=`, a constant off by one, a dropped
call) should make some test fail. Writes the score per package to mutation/SCORES.md.

    pip install -e ".[mutation]"
    python mutation/run.py                     # all three packages (hours on 2 cores)
    python mutation/run.py metrics             # one package
    python mutation/run.py metrics --max-children 1
    python mutation/run.py metrics --survivors # after adding tests: retest the survivors
    python mutation/run.py world --sample 300 --seed 1   # a seeded random sample

Each package runs in a scratch copy of the repo (the working tree as it is, so uncommitted
tests count) with its own test selection; mutmut forks the loaded test session per mutant
and runs only the selected tests that reach the mutated function. Survivors judged
equivalent (no test could tell them apart from the original) are listed, with the reason,
in mutation/equivalent.toml; the score leaves them out and says how many there were.

A package too big to test every mutant in the time there is can be judged on a sample:
`--sample N --seed S` tests N mutants drawn uniformly at random (seeded, so the same
code and seed draw the same mutants) from all of the package's mutants. SCORES.md then
says it is a sample, gives the score as an estimate with its 95 % (Wilson) confidence
interval, and counts the target as met only when the estimate reaches it.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import random
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
    tests: tuple[str, ...]  # the test files (or single tests, file::name) that judge them
    target: float  # the score the project holds itself to
    #: Tests of those files left out of the per-mutant runs as too slow (`-k` names).
    deselect: tuple[str, ...] = ()


PACKAGES = {p.name: p for p in (
    Package("metrics", ("simharness/metrics/*",),
            ("tests/test_metric_figures.py", "tests/test_metric_rules.py",
             "tests/test_metrics.py", "tests/test_metrics_validity.py",
             "tests/test_client_audit.py"), 0.90),
    Package("world", ("simharness/world/*", "simharness/world/llm/*"),
            ("tests/test_world_contracts.py", "tests/test_llm_behaviour.py",
             "tests/test_llm_apis.py", "tests/test_llm_api_faults.py",
             "tests/test_schema_fill.py", "tests/test_faults.py", "tests/test_user_tools.py",
             "tests/test_client_audit.py", "tests/test_http_agent.py",
             "tests/test_simulated_time.py::test_real_hosts_are_blocked_with_a_clear_error"),
            0.80,
            # the slowest test that judges streams through every SDK; the wire-format
            # test checks every stream event faster
            ("stream_faults_reach_each_sdk",)),
    Package("fault_injectors", ("fault_injectors/*",),
            ("tests/test_fault_contracts.py", "tests/test_faults.py",
             "tests/test_input_faults.py", "tests/test_llm_api_faults.py",
             "tests/test_scenario.py", "tests/test_llm_behaviour.py"), 0.80),
)}


@dataclass
class Outcome:
    package: Package
    date: str = field(default_factory=lambda: datetime.date.today().isoformat())
    statuses: dict[str, str] = field(default_factory=dict)  # mutant -> mutmut's verdict
    diffs: dict[str, str] = field(default_factory=dict)  # survivor -> its diff
    #: For a sampled run: how many mutants the package has, and the seed of the draw.
    population: int | None = None
    seed: int | None = None

    def count(self, status: str) -> int:
        return sum(s == status for s in self.statuses.values())

    def save(self) -> None:
        RESULTS.mkdir(exist_ok=True)
        data: dict[str, object] = {"date": self.date, "statuses": self.statuses,
                                   "diffs": self.diffs}
        if self.population is not None:
            data |= {"sample_of": self.population, "seed": self.seed}
        (RESULTS / f"{self.package.name}.json").write_text(json.dumps(
            data, indent=1, sort_keys=True) + "\n")

    @classmethod
    def load(cls, package: Package) -> Outcome | None:
        path = RESULTS / f"{package.name}.json"
        if not path.exists():
            return None
        data = json.loads(path.read_text())
        return cls(package, data["date"], data["statuses"], data["diffs"],
                   data.get("sample_of"), data.get("seed"))


def config(package: Package) -> str:
    """The [tool.mutmut] table for one package."""
    tests = [t for t in package.tests if (REPO / t.split("::")[0]).exists()]
    quoted = ", ".join(f'"{t}"' for t in tests)
    selection = " and ".join([SLOW, *(f"not {name}" for name in package.deselect)])
    return f"""
[tool.mutmut]
source_paths = ["simharness", "fault_injectors"]
only_mutate = [{", ".join(f'"{m}"' for m in package.mutate)}]
pytest_add_cli_args_test_selection = [{quoted}]
pytest_add_cli_args = ["-p", "no:cacheprovider", "-q", "-k", "{selection}"]
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


#: The first steps of `mutmut run`, in one process as mutmut needs them: generate the
#: mutants, run the tests once to learn which reach which mutant (saved for the run), then
#: print mutmut's worst-case time per mutant; the mutants to estimate follow on argv.
PREPARE = """
import os
import sys
import mutmut.__main__ as m
m.set_mutant_under_test("mutant_generation")
os.makedirs("mutants", exist_ok=True)
m.copy_src_dir()
m.copy_also_copy_files()
m.setup_source_paths()
m.create_mutants(1)
m.cli.main(["print-time-estimates", *sys.argv[1:]], standalone_mode=False)
"""


#: Prints each named mutant's diff as JSON, in one process (`mutmut show` is one each).
DIFFS = """
import json
import sys
from mutmut.mutation.diff_apply import find_mutant, get_diff_for_mutant
names = json.load(sys.stdin)
print(json.dumps({n: get_diff_for_mutant(n, path=find_mutant(n).path) for n in names}))
"""


def diffs(root: Path, names: list[str]) -> dict[str, str]:
    """The diffs of the named mutants."""
    done = subprocess.run([sys.executable, "-c", DIFFS], cwd=root, text=True,
                          input=json.dumps(names), capture_output=True)
    if done.returncode != 0:
        raise SystemExit(f"reading the mutants' diffs failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout))


def all_mutants(root: Path) -> list[str]:
    """Every mutant of the package, by name (once generated)."""
    lines = mutmut(root, "results", "--all", "true").splitlines()
    return sorted(line.strip().rpartition(": ")[0] for line in lines if ": " in line)


def draw(names: list[str], size: int, seed: int) -> list[str]:
    """A uniform random sample of `size` mutants, the same for the same names and seed."""
    return sorted(random.Random(seed).sample(sorted(names), min(size, len(names))))


def prepare(root: Path, names: list[str], what: str) -> None:
    """Generate the mutants and learn which tests reach them (the first time), and print
    mutmut's worst-case time for `names` (all their tests run), summed, before the run."""
    done = subprocess.run([sys.executable, "-c", PREPARE, *names], cwd=root, text=True,
                          capture_output=True)
    if done.returncode != 0:
        raise SystemExit(f"mutmut print-time-estimates failed:\n{done.stdout[-3000:]}\n"
                         f"{done.stderr[-3000:]}")
    out = done.stdout
    times = [int(line.split("ms")[0]) / 1000 for line in out.splitlines()
             if line[:1].isdigit() and "ms " in line]
    untested = sum(line.startswith("<no tests>") for line in out.splitlines())
    print(f"    {what}: {len(times)} mutants reached by tests, {untested} by none; worst case "
          f"{sum(times) / 60:.0f} min of tests in all (mean {sum(times) / max(1, len(times)):.1f}"
          f" s, max {max(times, default=0):.0f} s per mutant)", flush=True)


def run_package(package: Package, max_children: int, only: list[str] | None = None,
                sample: int | None = None, seed: int = 1) -> Outcome:
    """Run mutmut on `package`: only the mutants named in `only`, if given; else a sample
    of `sample` of them drawn with `seed`, if given; else all."""
    with tempfile.TemporaryDirectory(prefix=f"mutation-{package.name}-") as tmp:
        root = copy_repo(Path(tmp))
        with (root / "pyproject.toml").open("a") as f:
            f.write(config(package))
        print(f"[{package.name}] generating mutants, finding which tests reach them ...",
              flush=True)
        prepare(root, [], "all mutants")
        population = None
        if sample is not None:
            names = all_mutants(root)
            population = len(names)
            only = draw(names, sample, seed)
            print(f"[{package.name}] a sample of {len(only)} of {population} mutants "
                  f"(seed {seed})", flush=True)
        if only:
            prepare(root, only, "these mutants")
        print(f"[{package.name}] mutmut run in {root} ...", flush=True)
        subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children",
                        str(max_children), *(only or [])], cwd=root, check=True)
        outcome = Outcome(package, population=population,
                          seed=seed if population is not None else None)
        for line in mutmut(root, "results", "--all", "true").splitlines():
            name, sep, status = line.strip().rpartition(": ")
            if sep and name and (only is None or name in only):
                outcome.statuses[name] = status
        survivors = [n for n, s in outcome.statuses.items() if s in ("survived", "no tests")]
        outcome.diffs = diffs(root, survivors)
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


def wilson(killed: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval (95 % by default) for a proportion killed/n."""
    if n == 0:
        return 0.0, 1.0
    p = killed / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


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
             "counts as killed. A package judged on a random sample of its mutants says so "
             "in its row: its score is an estimate, with the 95 % (Wilson) confidence "
             "interval, and meets the target only when the estimate does.", "",
             "| package | run on | mutants | checked | killed | survived | no tests | "
             "equivalent | score | target |", "|---|---|---|---|---|---|---|---|---|---|"]
    sections: list[str] = []
    for outcome in outcomes:
        killed, counted, value = score(outcome, judged)
        equiv = [n for n, s in outcome.statuses.items() if n in judged and s == "survived"]
        survived = outcome.count("survived") - len(equiv)
        p = outcome.package
        unchecked = outcome.count("not checked") + outcome.count("skipped")
        checked = len(outcome.statuses) - unchecked
        shown = f"{value:.1%}"
        mutants = str(len(outcome.statuses))
        if outcome.population is not None:
            low, high = wilson(killed, counted)
            shown = f"{value:.1%} (95% CI {low:.1%}–{high:.1%})"
            mutants = f"{outcome.population} (sample of {len(outcome.statuses)}, " \
                      f"seed {outcome.seed})"
        lines.append(f"| {p.name} (`{'`, `'.join(p.mutate)}`) | {outcome.date} | "
                     f"{mutants} | {checked} | "
                     f"{killed} | {survived} | {outcome.count('no tests')} | {len(equiv)} | "
                     f"{shown} | ≥ {p.target:.0%} {'✔' if value >= p.target else '✘'} |")
        left_out = f" (without {', '.join(f'`{d}`' for d in p.deselect)})" \
            if p.deselect else ""
        sections += [f"## {p.name}", "", "Tests: " + ", ".join(
            f"`{t}`" for t in p.tests if (REPO / t.split("::")[0]).exists()) + left_out
            + ".", ""]
        if outcome.population is not None:
            sections += [f"**A sample**: {len(outcome.statuses)} of the package's "
                         f"{outcome.population} mutants, drawn uniformly at random with seed "
                         f"{outcome.seed} (`--sample {len(outcome.statuses)} --seed "
                         f"{outcome.seed}`), were tested, not all of them. {shown} is an "
                         f"estimate of the score over all mutants: {killed} killed of "
                         f"{counted} counted.", ""]
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
    parser.add_argument("--sample", type=int, metavar="N",
                        help="test a seeded uniform random sample of N mutants per package "
                        "(the score is then an estimate with its 95%% confidence interval)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the sample (default 1)")
    args = parser.parse_args()
    if args.sample is not None and (args.sample < 1 or args.survivors):
        parser.error("--sample takes a positive number, and not with --survivors "
                     "(which retests the last run's own survivors, sampled or not)")
    unknown = [name for name in args.packages if name not in PACKAGES]
    if unknown:
        parser.error(f"unknown package {unknown[0]!r}; choose from {', '.join(PACKAGES)}")
    for name in args.packages or list(PACKAGES):
        package = PACKAGES[name]
        if args.survivors:
            rerun_survivors(package, args.max_children).save()
        else:
            run_package(package, args.max_children, sample=args.sample, seed=args.seed).save()
    outcomes = [o for o in map(Outcome.load, PACKAGES.values()) if o is not None]
    text = report(outcomes)
    SCORES.write_text(text)
    print(text.split("\n\n## ")[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
