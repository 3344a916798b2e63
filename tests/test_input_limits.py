"""Hostile or mistaken input files fail fast with a clear error, never cost gigabytes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from simharness import ScenarioError, load_scenario
from simharness._yaml import load_yaml
from simharness.cli import main
from simharness.limits import (
    MAX_SCENARIO_BYTES,
    MAX_YAML_VALUES,
    read_bytes_bounded,
    read_text_bounded,
)

HEAD = "name: lol\nduration: 1m\ntraffic: [{synthetic: {rate: 1/s}}]\n"


def billion_laughs(levels: int = 9) -> str:
    """Nine levels of nine aliases each: 9**9 (387 million) strings once expanded."""
    lines = [HEAD, 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels + 1):
        refs = ",".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "\n".join(lines) + "\n"


def merge_bomb(levels: int = 40) -> str:
    """Merges of merges: every key is already taken, but 2**40 merges would be walked."""
    lines = [HEAD, "m0: &m0 {x: 1}"]
    for i in range(1, levels + 1):
        lines.append(f"m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}]}}")
    return "\n".join(lines) + "\n"


def test_billion_laughs_is_refused_with_file_line_and_reason(tmp_path: Path):
    path = tmp_path / "laughs.yaml"
    path.write_text(billion_laughs())
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    error = info.value.errors[0]
    assert error.file == str(path) and error.line is not None
    assert f"more than {MAX_YAML_VALUES:,} values" in error.message
    assert "aliases" in error.message


def test_merge_key_bomb_is_refused():
    with pytest.raises(ScenarioError, match="values once its aliases are expanded"):
        load_yaml(merge_bomb(), "merge.yaml")


def test_deep_nesting_is_refused_without_a_recursion_traceback():
    for depth in (100, 20_000):
        with pytest.raises(ScenarioError, match="nested more than"):
            load_yaml("a: " + "[" * depth + "]" * depth + "\n", "deep.yaml")


def test_aliases_within_the_limits_still_load():
    data, _ = load_yaml("base: &b {rate: 1/s}\nother: *b\nmerged: {<<: *b, extra: 2}\n")
    assert data == {"base": {"rate": "1/s"}, "other": {"rate": "1/s"},
                    "merged": {"rate": "1/s", "extra": 2}}


def test_oversize_scenario_file_is_refused_before_parsing(tmp_path: Path):
    path = tmp_path / "big.yaml"
    path.write_text(HEAD + "description: '" + "x" * MAX_SCENARIO_BYTES + "'\n")
    with pytest.raises(ScenarioError, match="over the limit of 1.0 MiB"):
        load_scenario(path)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads Linux /proc")
def test_validate_exits_2_on_a_billion_laughs_in_bounded_time_and_memory(tmp_path: Path):
    """The command reported in the issue grew to 3 GB in 30 s; now it stops at once."""
    path = tmp_path / "laughs.yaml"
    path.write_text(billion_laughs())
    # VmHWM is this process's own peak (ru_maxrss would carry pytest's over the exec)
    script = ("import re, sys\nfrom simharness.cli import main\n"
              f"code = main(['validate', {str(path)!r}])\n"
              "status = open('/proc/self/status').read()\n"
              "print('PEAK', re.search(r'VmHWM:\\s+(\\d+)', status).group(1))\n"
              "sys.exit(code)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=50)
    assert done.returncode == 2, done.stderr
    assert "billion laughs" in done.stdout + done.stderr
    peak_kb = int(done.stdout.split("PEAK")[1].split()[0])
    assert peak_kb < 400_000, f"peak RSS {peak_kb} kB"  # imports included


def test_run_refuses_a_billion_laughs_with_exit_2(tmp_path: Path, capsys):
    path = tmp_path / "laughs.yaml"
    path.write_text(billion_laughs())
    assert main(["run", str(path), "--quiet", "--out", str(tmp_path / "out")]) == 2
    assert "laughs.yaml:" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_bounded_readers_never_read_past_the_limit(tmp_path: Path):
    path = tmp_path / "data.csv"
    path.write_bytes(b"a,b\n" * 100)
    assert read_bytes_bounded(path, 400) == b"a,b\n" * 100
    assert read_text_bounded(path, 400, "replay file").startswith("a,b")
    with pytest.raises(ScenarioError) as info:
        read_bytes_bounded(path, 399, "replay file")
    assert str(info.value) == (f"{path}: the replay file is 400 bytes, over the limit of 399 "
                               "bytes; is this the right file?")
    with pytest.raises(ScenarioError, match="cannot read"):
        read_bytes_bounded(tmp_path / "missing.csv", 10)
    (tmp_path / "latin1.txt").write_bytes(b"caf\xe9")
    with pytest.raises(ScenarioError, match="not UTF-8"):
        read_text_bounded(tmp_path / "latin1.txt", 10)


def test_reading_is_bounded_even_when_the_size_is_unknown(tmp_path: Path):
    """A FIFO reports size 0; the reader still stops after limit + 1 bytes."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    writer = subprocess.Popen([sys.executable, "-c",
                               f"open({str(fifo)!r}, 'wb').write(b'x' * 100_000)"])
    try:
        with pytest.raises(ScenarioError, match="more than 1.0 KiB"):
            read_bytes_bounded(fifo, 1024)
    finally:
        writer.kill()
        writer.wait()
