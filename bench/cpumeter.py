"""CPU per request, by process, for bench/load.py.

On a machine shared with other work, req/s and latency measure the neighbours
too; the CPU each request costs (read from /proc) barely does. Linux only.
"""

import os

_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def _cpu_seconds(pid: int, *, reaped: bool = False) -> float:
    """utime + stime (+ cutime + cstime: children it has reaped)."""
    try:
        fields = _stat(pid)
    except OSError:  # gone
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if reaped:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / _TICK


def _processes() -> dict[int, tuple[int, str]]:
    """pid: (parent pid, command line) of every process."""
    found = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/cmdline", "rb") as f:
                    command = f.read().replace(b"\0", b" ").decode(errors="replace")
                found[int(name)] = (int(_stat(int(name))[1]), command)
            except OSError:
                pass
    return found


class CpuMeter:
    """CPU seconds used by gunicorn (the master, its workers, and the workers it
    has reaped: max_requests recycles them), by the PostgreSQL backends of the
    bench's database and by the Redis server on the bench's port, between
    start() and stop(). A backend that exits meanwhile (its worker recycled)
    takes its CPU with it: the PostgreSQL figure is a floor."""

    def __init__(self, gunicorn_pid: int, db: str, redis_port: int) -> None:
        self.gunicorn_pid, self.db, self.redis_port = gunicorn_pid, db, redis_port

    def _groups(self) -> dict[str, list[int]]:
        processes = _processes()
        groups = {"gunicorn": [], "postgres": [], "redis": []}
        for pid, (parent, command) in processes.items():
            if parent == self.gunicorn_pid:
                groups["gunicorn"].append(pid)
            elif command.startswith("postgres:") and f" {self.db} " in command:
                groups["postgres"].append(pid)
            elif (
                command.startswith("redis-server") and f":{self.redis_port}" in command
            ):
                groups["redis"].append(pid)
        return groups

    def _snapshot(self, groups: dict[str, list[int]]) -> dict[int, float]:
        seconds = {pid: _cpu_seconds(pid) for group in groups.values()
                   for pid in group}  # fmt: skip
        seconds[self.gunicorn_pid] = _cpu_seconds(self.gunicorn_pid, reaped=True)
        return seconds

    def start(self) -> None:
        self._groups_before = self._groups()
        self._before = self._snapshot(self._groups_before)

    def stop(self, requests: int) -> dict[str, float]:
        """Milliseconds of CPU per request in each group, and their sum."""
        groups = self._groups()
        after = self._snapshot(groups)
        per_request = {}
        for name, pids in groups.items():
            pids = set(pids)
            if name == "gunicorn":
                # A worker reaped meanwhile: its whole CPU is in the master's
                # reaped-children time; what it had used before is taken off.
                pids |= {self.gunicorn_pid, *self._groups_before[name]}
            used = sum(after.get(pid, 0) - self._before.get(pid, 0) for pid in pids)
            per_request[name] = round(used * 1000 / max(requests, 1), 3)
        per_request["total"] = round(sum(per_request.values()), 3)
        return per_request
