"""Runs a command on a pseudo-terminal of its own session, closes the terminal once the command has printed a given
text (as a closed SSH session does: the kernel sends SIGHUP and answers every later write with EIO), and prints the
command's exit status (negative: the signal that ended it). Standard error goes to a file, as the terminal is gone.

    python3 hang_up.py <until-text> <stderr-file> <command...>
"""
import os
import pty
import sys

until, errors, argv = sys.argv[1].encode(), sys.argv[2], sys.argv[3:]
pid, terminal = pty.fork()
if pid == 0:
    os.dup2(os.open(errors, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 2)
    os.execvp(argv[0], argv)
said = b""
while until not in said:
    try:
        said += os.read(terminal, 4096)
    except OSError:
        break
os.close(terminal)
print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
