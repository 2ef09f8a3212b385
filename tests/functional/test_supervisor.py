"""One watchdog for a probe's commands: each command keeps every guarantee of its own watchdog.

Under `processes.supervised()` the commands of a probe run in turn under one
watchdog process. These tests hold that, for each command: a command that
exits at once is seen exiting; its helpers in sessions of their own end when
it returns, before the next command starts; its deadline kills its tree and
the next command still runs; the network is cut for it alone; and when
envprobe is killed, nothing it started keeps running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest
from faults import REPO, alive, marked_processes, wait_until

from envprobe.probing import processes

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc")


def escaping(marker: str, pid_file: Path, then: str = "") -> list[str]:
    """A command that starts a helper in a session of its own (helper and grandchild sleep
    with `marker` in their command lines), writes the helper's pid, then runs `then`."""
    sleeper = f"import os, time; os.fork(); time.sleep(120)  # {marker}"
    code = (
        "import subprocess, sys\n"
        f"helper = subprocess.Popen([sys.executable, '-c', {sleeper!r}], start_new_session=True)\n"
        f"open({str(pid_file)!r}, 'a').write(f'{{helper.pid}}\\n')\n"
        f"{then}\n"
    )
    return [sys.executable, "-c", code]


@pytest.mark.parametrize("supervised", [False, True], ids=["alone", "supervised"])
def test_a_command_that_exits_at_once_is_seen_exiting(tmp_path, supervised):
    """A command done before its watchdog looks (`true`) still gives its own exit code."""
    def run_all() -> list[processes.Completed]:
        return [processes.run(["true"], log_path=tmp_path / f"{n}.log") for n in range(5)]

    if supervised:
        with processes.supervised():
            done = run_all()
    else:
        done = run_all()
    assert [(d.returncode, d.timed_out, d.ok) for d in done] == [(0, False, True)] * 5


def test_each_command_ends_with_its_helpers_before_the_next_starts(tmp_path):
    marker, pid_file = f"supervised-{uuid.uuid4().hex}", tmp_path / "pids"
    with processes.supervised() as supervisor:
        first = processes.run(escaping(marker, pid_file), log_path=tmp_path / "first.log")
        assert first.ok and first.reaper == "subreaper"
        # Gone as the command returns: the watchdog ends the tree before it answers.
        assert marked_processes(marker) == []
        second = processes.run(["sh", "-c", "echo second; exit 3"],
                               log_path=tmp_path / "second.log", cwd=tmp_path,
                               env={"PATH": os.environ["PATH"]})
        assert (second.returncode, second.output) == (3, "second\n")
        watchdog = supervisor.pid
    assert not any(map(alive, [int(p) for p in pid_file.read_text().split()]))
    assert watchdog is not None and not alive(watchdog)  # the block ended it


def test_a_command_past_its_deadline_is_killed_and_the_next_one_runs(tmp_path):
    marker, pid_file = f"deadline-{uuid.uuid4().hex}", tmp_path / "pids"
    with processes.supervised() as supervisor:
        started = time.monotonic()
        late = processes.run(escaping(marker, pid_file, "import time; time.sleep(120)"),
                             log_path=tmp_path / "late.log", timeout=2)
        assert late.timed_out and late.returncode == -signal.SIGKILL
        assert time.monotonic() - started < 60
        assert marked_processes(marker) == []
        watchdog = supervisor.pid
        after = processes.run(["sh", "-c", "echo after"], log_path=tmp_path / "after.log")
        assert after.ok and after.output == "after\n"
        assert supervisor.pid == watchdog  # the same watchdog served both


def test_the_network_is_cut_for_one_command_only(tmp_path):
    probe = [sys.executable, "-c", "import socket; print(len(socket.if_nameindex()))"]
    with processes.supervised():
        cut = processes.run(probe, log_path=tmp_path / "cut.log", network=False)
        if cut.network == "host":
            pytest.skip("no user namespaces here: the network cannot be cut")
        kept = processes.run(probe, log_path=tmp_path / "kept.log")
    assert cut.ok and kept.ok, (cut.output, kept.output)
    assert (cut.network, kept.network) == ("none", "host")
    assert int(cut.output) == 1 < int(kept.output)  # a loopback alone, then the host's


def test_a_command_that_cannot_start_is_an_error_and_the_watchdog_goes_on(tmp_path):
    with processes.supervised():
        with pytest.raises(FileNotFoundError):
            processes.run([str(tmp_path / "missing")], log_path=tmp_path / "missing.log")
        assert processes.run(["true"], log_path=tmp_path / "true.log").ok


@pytest.mark.parametrize("busy", [True, False], ids=["running", "idle"])
def test_killing_envprobe_ends_the_watchdog_and_its_command(tmp_path, busy):
    """kill -9 of the process that holds the watchdog, while a command runs or between two."""
    marker, pid_file = f"orphaned-{uuid.uuid4().hex}", tmp_path / "pids"
    ready = tmp_path / "ready"
    command = escaping(marker, pid_file, "import time; time.sleep(120)") if busy else ["true"]
    script = textwrap.dedent(f"""
        import pathlib, time
        from envprobe.probing import processes
        with processes.supervised() as supervisor:
            supervisor.start()
            pathlib.Path({str(ready)!r}).write_text(str(supervisor.pid))
            processes.run({command!r}, log_path=pathlib.Path({str(tmp_path / "c.log")!r}))
            time.sleep(120)
    """)
    holder = subprocess.Popen([sys.executable, "-c", script], cwd=REPO,
                              env=dict(os.environ, PYTHONPATH=str(REPO)))
    try:
        wait_until(lambda: ready.exists() and ready.read_text(), 60, "the watchdog's start")
        watchdog = int(ready.read_text())
        if busy:
            wait_until(lambda: len(marked_processes(marker)) >= 2, 60, "the command's helpers")
        else:
            wait_until(lambda: (tmp_path / "c.log").exists(), 60, "the first command")
    finally:
        holder.kill()
        holder.wait()
    wait_until(lambda: not alive(watchdog) and not marked_processes(marker), 15,
               "the end of the watchdog and of every process of its command")


def test_a_process_forked_inside_the_block_runs_its_commands_under_watchdogs_of_its_own(tmp_path):
    """A pool worker forked while a probe's watchdog serves must not write to its pipes."""
    with processes.supervised() as supervisor:
        assert processes.run(["true"], log_path=tmp_path / "before.log").ok
        pid = os.fork()
        if pid == 0:  # the copy: its command must run, under a watchdog of its own
            try:
                done = processes.run(["sh", "-c", "echo $PPID"], log_path=tmp_path / "copy.log")
                os._exit(0 if done.ok and int(done.output) != supervisor.pid else 1)
            finally:
                os._exit(2)
        assert os.waitpid(pid, 0)[1] == 0
        after = processes.run(["sh", "-c", "echo after"], log_path=tmp_path / "after.log")
        assert after.ok and after.output == "after\n"
        assert supervisor.pid is not None and alive(supervisor.pid)


def test_the_watchdog_runs_from_its_bytecode_only_while_that_is_its_sources(tmp_path):
    import importlib.util
    import py_compile

    source = tmp_path / "watchdog.py"
    source.write_bytes(processes.WATCHDOG.read_bytes())
    assert processes._watchdog_command(source)[-1] == str(source)  # nothing compiled yet
    cached = Path(importlib.util.cache_from_source(str(source)))
    py_compile.compile(str(source), cfile=str(cached), doraise=True)
    command = processes._watchdog_command(source)
    assert command[-1] == str(cached)
    status_read, status_write = os.pipe()
    ran = subprocess.run([*command, str(status_write), str(os.getpid()), "0", "host", "--",
                          sys.executable, "-c", "raise SystemExit(3)"],
                         pass_fds=(status_write,), check=False)
    os.close(status_write)
    with os.fdopen(status_read) as status:
        assert ran.returncode == 0 and '"returncode": 3' in status.read()
    with source.open("a") as edited:
        edited.write("# changed after it was compiled\n")
    assert processes._watchdog_command(source)[-1] == str(source)
