"""Drives a command on a pseudo-terminal, as a person at a keyboard would.

    python3 at_terminal.py PROMPT KEYS COMMAND [ARGS...]

Waits for PROMPT, types KEYS (Python escapes, e.g. "\\x03" for Ctrl-C),
then collects the output until the command exits. Prints one JSON object:
the exit code, everything the terminal showed, and whether the terminal
has echo and signal keys on afterwards (what a shell would inherit).
"""
import json
import os
import pty
import select
import sys
import termios
import time

prompt, keys, command = sys.argv[1].encode(), sys.argv[2], sys.argv[3:]
keys = keys.encode().decode("unicode_escape").encode("latin-1")
pid, fd = pty.fork()
if pid == 0:
    os.execvp(command[0], command)

shown = b""


def read_some(timeout):
    global shown
    ready, _, _ = select.select([fd], [], [], timeout)
    if not ready:
        return False
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        return False
    shown += chunk
    return bool(chunk)


deadline = time.time() + 20
while prompt not in shown:
    if not read_some(max(0.0, deadline - time.time())) and time.time() >= deadline:
        break
if prompt in shown:
    os.write(fd, keys)
while read_some(10):
    pass
_, status = os.waitpid(pid, 0)
flags = termios.tcgetattr(fd)[3]
print(json.dumps({
    "code": os.waitstatus_to_exitcode(status),
    "shown": shown.decode("utf-8", "replace"),
    "prompted": prompt in shown,
    "echo": bool(flags & termios.ECHO),
    "isig": bool(flags & termios.ISIG),
}))
