# SPDX-License-Identifier: GPL-2.0
"""The one place the runner starts children. Each runs behind a small
launcher that leads a process group of its own: the command, and all it
starts (kunit.py's make and compilers, QEMU, UML's helpers), stay in that
group. The launcher asks the kernel for SIGTERM when the runner dies
(PR_SET_PDEATHSIG), even by SIGKILL, and then ends its whole group; the
runner ends each group it started when it is interrupted. So no child
outlives the runner for more than GRACE seconds, and no QEMU is left
behind.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from typing import Any, Dict, Iterator, Optional, Sequence

# How long a group may take to end on SIGTERM before it gets SIGKILL.
GRACE = 5.0

LAUNCHER = r'''
import ctypes, os, signal, subprocess, sys
ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
if os.getppid() != int(sys.argv[1]):
    sys.exit(128 + signal.SIGTERM)  # the runner was gone already
grace = float(sys.argv[2])
stopping = False

def stop(signum, frame):
    global stopping
    if not stopping:
        stopping = True
        os.killpg(0, signal.SIGTERM)
        signal.setitimer(signal.ITIMER_REAL, grace)

def kill(signum, frame):
    os.killpg(0, signal.SIGKILL)

signal.signal(signal.SIGALRM, kill)
for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
    signal.signal(s, stop)
child = subprocess.Popen(sys.argv[3:])
child.wait()
if stopping:
    os.killpg(0, signal.SIGKILL)  # what the command left behind, and this
code = child.returncode
sys.exit(code if code >= 0 else 128 - code)
'''

# Process groups of children still running, by the launcher's pid.
_groups: Dict[int, subprocess.Popen] = {}


def popen(cmd: Sequence[str], **kw: Any) -> subprocess.Popen:
	"""subprocess.Popen(cmd, **kw) behind the launcher; FileNotFoundError
	if cmd[0] is not a command, as Popen would raise."""
	if not shutil.which(cmd[0], path=(kw.get('env') or os.environ).get('PATH')):
		raise FileNotFoundError(2, 'No such file or directory', cmd[0])
	argv = [sys.executable, '-I', '-S', '-c', LAUNCHER, str(os.getpid()), str(GRACE)]
	proc = subprocess.Popen(argv + list(cmd), start_new_session=True, **kw)
	proc.args = list(cmd)
	_groups[proc.pid] = proc
	return proc


def group_alive(pgid: int) -> bool:
	try:
		os.killpg(pgid, 0)
		return True
	except ProcessLookupError:
		return False
	except PermissionError:
		return True


def _signal_group(pgid: int, sig: int) -> None:
	try:
		os.killpg(pgid, sig)
	except ProcessLookupError:
		pass


def _wait_group(proc: subprocess.Popen, grace: float) -> None:
	"""Until proc's group is empty (its leader reaped meanwhile), or grace
	seconds: a killed process another parent has yet to reap still counts,
	so never forever."""
	deadline = time.monotonic() + grace
	while group_alive(proc.pid) and time.monotonic() < deadline:
		proc.poll()
		time.sleep(0.05)


def end_group(proc: subprocess.Popen, grace: float = GRACE) -> None:
	"""Ends proc's whole group: SIGTERM, then SIGKILL after grace
	seconds; returns once nothing of it is left, or after another grace."""
	_signal_group(proc.pid, signal.SIGTERM)
	_wait_group(proc, grace)
	_signal_group(proc.pid, signal.SIGKILL)
	proc.wait()
	_wait_group(proc, grace)


def release(proc: subprocess.Popen) -> None:
	"""Called when the runner is done with proc, normally or not: whatever
	of its group still runs is ended."""
	try:
		if proc.poll() is None or group_alive(proc.pid):
			end_group(proc)
	finally:
		_groups.pop(proc.pid, None)


def run(cmd: Sequence[str], input: Optional[Any] = None,
	**kw: Any) -> subprocess.CompletedProcess:
	"""subprocess.run(cmd, input=..., **kw) behind the launcher. If the
	runner is interrupted meanwhile, the child's group is ended before the
	interruption goes on."""
	if input is not None:
		kw['stdin'] = subprocess.PIPE
	if kw.pop('capture_output', False):
		kw['stdout'] = kw['stderr'] = subprocess.PIPE
	proc = popen(cmd, **kw)
	try:
		out, err = proc.communicate(input)
	finally:
		release(proc)
	return subprocess.CompletedProcess(list(cmd), proc.returncode, out, err)


def end_all() -> None:
	"""Ends every group still running (the runner is going away)."""
	for proc in list(_groups.values()):
		release(proc)


class Interrupted(Exception):
	"""The runner got SIGTERM, SIGHUP or SIGINT."""

	def __init__(self, signum: int) -> None:
		super().__init__(signal.Signals(signum).name)
		self.signum = signum

	@property
	def code(self) -> int:
		return 128 + self.signum


def _on_signal(signum: int, frame: Any) -> None:
	for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
		signal.signal(s, signal.SIG_IGN)
	raise Interrupted(signum)


@contextmanager
def catching_signals() -> Iterator[None]:
	"""Within it, SIGTERM, SIGHUP and SIGINT raise Interrupted in the main
	thread: the stack unwinds through release() of the running child, then
	through the work tree's rollback and the locks."""
	signals = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
	old = {s: signal.signal(s, _on_signal) for s in signals}
	try:
		yield
	finally:
		for s, handler in old.items():
			signal.signal(s, handler)

