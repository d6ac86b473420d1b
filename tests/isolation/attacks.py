"""What a hostile user runs in their own kernel: every attempt to reach another user or the service.

`attack_code(targets)` is Python source for the kernel; it prints one JSON object naming each attempt
and what happened. An attempt "succeeded" only if it read or changed something, or signalled a process.
"""

from __future__ import annotations

import json
from typing import Any

_ATTACKS = r'''
import ctypes, errno, json, os, signal, socket, subprocess, urllib.error, urllib.request
targets = json.loads(TARGETS)
results = {}

def attempt(name, action):
    try:
        results[name] = "SUCCEEDED: " + str(action())[:80]
    except Exception as exc:  # every refusal counts: permission, absence, connection, ...
        results[name] = "failed: " + type(exc).__name__

for path in targets["files"]:
    attempt("read " + path, lambda: open(path, "rb").read(16))
    attempt("write " + path, lambda: open(path, "ab").write(b"x"))
for path in targets["directories"]:
    attempt("list " + path, lambda: os.listdir(path))
    attempt("create in " + path, lambda: open(os.path.join(path, "planted"), "x").write("x"))
for pid in targets["pids"]:
    attempt(f"signal {pid}", lambda: os.kill(pid, signal.SIGTERM) or "sent")
    def trace(pid=pid):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.ptrace(16, pid, None, None) != 0:  # PTRACE_ATTACH
            raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
        return "attached"
    attempt(f"ptrace {pid}", trace)
    attempt(f"environ of {pid}", lambda: open(f"/proc/{pid}/environ", "rb").read(16))
for url in targets["urls"]:
    def fetch(url=url):
        with urllib.request.urlopen(urllib.request.Request(url, headers=targets["headers"]), timeout=10) as r:
            return r.status
    attempt("fetch " + url, fetch)
attempt("become root", lambda: os.setuid(0) or os.geteuid())
def setuid_binary():
    done = subprocess.run(["su", "-c", "id -u", "root"], input="notebooks\n", capture_output=True,
                          text=True, timeout=20)
    if done.returncode != 0:
        raise PermissionError(done.stderr.strip())
    return done.stdout
attempt("su to root", setuid_binary)
status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines())
results["facts"] = {
    "uid": os.getuid(), "euid": os.geteuid(), "no_new_privs": status["NoNewPrivs"].strip(),
    "capabilities": status["CapEff"].strip(), "bounding": status["CapBnd"].strip(),
    "processes": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
    "home": os.path.expanduser("~"), "cwd": os.getcwd(), "tmp": sorted(os.listdir("/tmp")),
}
print(json.dumps(results))
'''


def attack_code(targets: dict[str, Any]) -> str:
    return f"TARGETS = {json.dumps(json.dumps(targets))}\n{_ATTACKS}"
