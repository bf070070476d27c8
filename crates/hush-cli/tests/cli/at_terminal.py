"""Drives a command on a pseudo-terminal, as a person at a keyboard would.

    python3 at_terminal.py PROMPT KEYS COMMAND [ARGS...]
    python3 at_terminal.py --yes COMMAND [ARGS...]

The first form waits for PROMPT and types KEYS (Python escapes, e.g.
"\\x03" for Ctrl-C) once; the second answers "y" to every "[y/N]"
question. Either collects the output until the command exits and prints
one JSON object: the exit code, everything the terminal showed, whether
the prompt came, and whether the terminal has echo and signal keys on
afterwards (what a shell would inherit).
"""
import json
import os
import pty
import select
import sys
import termios
import time

if sys.argv[1] == "--yes":
    prompt, keys, command = b"[y/N] ", b"y\r", sys.argv[2:]
    repeat = True
else:
    prompt, command = sys.argv[1].encode(), sys.argv[3:]
    keys = sys.argv[2].encode().decode("unicode_escape").encode("latin-1")
    repeat = False
pid, fd = pty.fork()
if pid == 0:
    os.execvp(command[0], command)

shown = b""
answered = 0  # how much of `shown` the last answer covered


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


prompted = False
status = None
deadline = time.time() + 300
while status is None and time.time() < deadline:
    if prompt in shown[answered:] and (repeat or not prompted):
        os.write(fd, keys)
        answered = len(shown)
        prompted = True
    if not read_some(0.5):
        done, code = os.waitpid(pid, os.WNOHANG)
        if done:
            status = code
if status is None:
    os.kill(pid, 9)
    _, status = os.waitpid(pid, 0)
while read_some(0.2):
    pass
flags = termios.tcgetattr(fd)[3]
print(json.dumps({
    "code": os.waitstatus_to_exitcode(status),
    "shown": shown.decode("utf-8", "replace"),
    "prompted": prompted,
    "echo": bool(flags & termios.ECHO),
    "isig": bool(flags & termios.ISIG),
}))
