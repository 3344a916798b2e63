"""Every option of the pytest plugin, in one place: command line, ini, and how they combine.

Each `--sim-*` option has an ini twin (`simharness_*`); the command line wins. Add a new
option here (one `_Option` entry and one `SimOptions` field) and both forms exist.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

GROUP = "simharness"


@dataclass(frozen=True)
class _Option:
    flag: str
    ini: str
    help: str
    type: type = str
    metavar: str = ""


_OPTIONS: dict[str, _Option] = {
    "agent": _Option("--sim-agent", "simharness_agent", "run every collected scenario against "
                     "this agent instead of its agent.ref", metavar="MOD:ATTR"),
    "seed": _Option("--sim-seed", "simharness_seed", "base seed of every scenario test "
                    "(default: each scenario's own seed)", int, "N"),
    "seeds": _Option("--sim-seeds", "simharness_seeds", "seeded runs per scenario (seed, "
                     "seed+1, ...); it passes only if all pass: pass^k as a gate (default 1)",
                     int, "K"),
    "scale": _Option("--sim-scale", "simharness_scale", "shorten every scenario's duration and "
                     "fault windows by this factor, 0 < F <= 1, for a quick pass (default 1)",
                     float, "F"),
    "out": _Option("--sim-out", "simharness_out", "directory for run directories with "
                   "results and report.html (default: under pytest's temporary directory)",
                   Path, "DIR"),
    "baseline": _Option("--sim-baseline", "simharness_baseline", "also fail a scenario whose "
                        "metrics regress significantly against this baseline: 'latest' (the "
                        "newest recorded run of the scenario), a run id from the history, a run "
                        "or sweep directory, or a folder of them", metavar="RUN_OR_DIR"),
}


def add_options(parser: pytest.Parser) -> None:
    """The plugin's one option group and its ini options."""
    group = parser.getgroup(GROUP, "simharness: scenario files as tests")
    group.addoption("--sim-scenarios", action="append", default=[], metavar="GLOB",
                    help="collect scenario files matching GLOB (relative to the rootdir) as "
                         "tests, even when paths are given; repeatable")
    parser.addini("simharness_scenarios", type="linelist", default=[],
                  help="globs of scenario files, relative to the rootdir, collected as tests "
                       "(e.g. scenarios/*.yaml)")
    for name, option in _OPTIONS.items():
        group.addoption(option.flag, dest=f"sim_{name}", default=None, type=option.type,
                        metavar=option.metavar or None, help=option.help)
        parser.addini(option.ini, help=f"default of {option.flag}: {option.help}")
    group.addoption("--sim-tolerance", action="append", default=[], metavar="METRIC=VALUE",
                    help="with --sim-baseline: how much worse METRIC may get before it is a "
                         "regression, absolute (routing.accuracy=0.01) or relative "
                         "(latency.p95=10%%); METRIC may be a glob; repeatable")
    parser.addini("simharness_tolerances", type="linelist", default=[],
                  help="default of --sim-tolerance: METRIC=VALUE lines")


@dataclass(frozen=True)
class SimOptions:
    """The plugin's settings for one pytest session."""

    rootpath: Path
    scenario_globs: tuple[str, ...] = ()
    cli_globs: tuple[str, ...] = ()
    agent: str | None = None
    seed: int | None = None
    seeds: int = 1
    scale: float = 1.0
    out: Path | None = None
    baseline: str | None = None
    tolerances: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, config: pytest.Config) -> SimOptions:
        values: dict[str, Any] = {}
        for name, option in _OPTIONS.items():
            value = config.getoption(f"sim_{name}")
            if value is None:
                text = str(config.getini(option.ini) or "").strip()
                if text:
                    try:
                        value = option.type(text)
                    except ValueError:
                        raise pytest.UsageError(
                            f"ini option {option.ini} = {text!r}: expected "
                            f"{'a whole number' if option.type is int else 'a number'}") from None
            if value is not None:
                values[name] = value
        cli = tuple(config.getoption("sim_scenarios") or ())
        globs = tuple(dict.fromkeys([*config.getini("simharness_scenarios"), *cli]))
        tolerances = tuple([*config.getini("simharness_tolerances"),
                            *(config.getoption("sim_tolerance") or ())])
        options = cls(rootpath=config.rootpath, scenario_globs=globs, cli_globs=cli,
                      tolerances=tolerances, **values)
        if options.out is not None and not options.out.is_absolute():
            options = _replace(options, out=config.invocation_params.dir / options.out)
        if options.baseline:
            # a directory is relative to where pytest ran (command line) or the rootdir (ini)
            cli_given = config.getoption("sim_baseline") is not None
            near = (config.invocation_params.dir if cli_given else config.rootpath) \
                / options.baseline
            if near.exists():
                options = _replace(options, baseline=str(near))
        elif config.getoption("sim_tolerance"):
            raise pytest.UsageError("--sim-tolerance applies to a comparison: give "
                                    "--sim-baseline too")
        options._check()
        return options

    def _check(self) -> None:
        if self.seeds < 1:
            raise pytest.UsageError(f"--sim-seeds must be at least 1, got {self.seeds}")
        if not 0 < self.scale <= 1:
            raise pytest.UsageError(f"--sim-scale must be above 0 and at most 1, got "
                                    f"{self.scale:g}")
        if self.agent is not None and ":" not in self.agent:
            raise pytest.UsageError(f"--sim-agent must look like 'package.module:attr', got "
                                    f"{self.agent!r}")
        if self.baseline:
            from .baseline import check_reference

            check_reference(self.baseline, self.tolerances)

    def matches(self, path: Path) -> bool:
        """Whether `path` is a scenario file to collect (glob semantics: `*` stays within
        one folder, `**` crosses folders)."""
        return path.resolve() in _matched(self.rootpath, self.scenario_globs)

    def files(self, globs: tuple[str, ...] | None = None) -> list[Path]:
        """The existing files matching the globs, sorted."""
        found: set[Path] = set()
        for glob in self.scenario_globs if globs is None else globs:
            found.update(p for p in self.rootpath.glob(glob) if p.is_file())
        return sorted(found)

    def seed_list(self, scenario_seed: int, seeds: int | None = None) -> list[int]:
        base = scenario_seed if self.seed is None else self.seed
        return [base + i for i in range(self.seeds if seeds is None else seeds)]


@functools.lru_cache(maxsize=8)
def _matched(rootpath: Path, globs: tuple[str, ...]) -> frozenset[Path]:
    return frozenset(p.resolve() for glob in globs for p in rootpath.glob(glob) if p.is_file())


def _replace(options: SimOptions, **changes: Any) -> SimOptions:
    from dataclasses import replace

    return replace(options, **changes)


def collection_args(config: pytest.Config, options: SimOptions) -> list[str]:
    """Scenario files to add to pytest's initial paths: all of them when pytest was run
    without paths (so `testpaths` does not hide them), else those of `--sim-scenarios`."""
    from_args = config.args_source == pytest.Config.ArgsSource.ARGS
    files = options.files(options.cli_globs if from_args else None)
    invocation = config.invocation_params.dir
    present = {os.path.abspath(os.path.join(invocation, a.split("::")[0])) for a in config.args}
    return [os.path.relpath(p, invocation) for p in files if str(p) not in present]


# --------------------------------------------------------------------------- session state

OPTIONS_KEY = pytest.StashKey[SimOptions]()
_OUT_KEY = pytest.StashKey[Path]()


def options_of(config: pytest.Config) -> SimOptions:
    """The session's options (read once, in pytest_configure)."""
    options = config.stash.get(OPTIONS_KEY, None)
    if options is None:
        options = config.stash[OPTIONS_KEY] = SimOptions.from_config(config)
    return options


def out_base(config: pytest.Config) -> Path:
    """Where run directories go: `--sim-out`, else `simharness/` under pytest's basetemp
    (per xdist worker, cleaned up like every tmp_path)."""
    base = config.stash.get(_OUT_KEY, None)
    if base is None:
        options = options_of(config)
        if options.out is not None:
            base = options.out
        else:
            factory = getattr(config, "_tmp_path_factory", None)
            if factory is not None:
                base = factory.getbasetemp() / "simharness"
            else:  # the tmpdir plugin is disabled (-p no:tmpdir)
                import tempfile

                base = Path(tempfile.mkdtemp(prefix="simharness-"))
        base.mkdir(parents=True, exist_ok=True)
        config.stash[_OUT_KEY] = base
    return base
