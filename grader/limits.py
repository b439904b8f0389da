"""Apply resource limits, drop root, then exec a command (stdlib only: it runs inside the sandbox).

usage: python limits.py --data MB --as MB --nproc N --cpu S --fsize MB [--uid UID] -- cmd [args...]

The limits are kernel-enforced rlimits, inherited by every process the command starts:
  RLIMIT_DATA   heap and private anonymous mappings: a memory bomb gets MemoryError
  RLIMIT_AS     total address space, generous (torch and TensorFlow reserve several GiB up front)
  RLIMIT_NPROC  processes and threads of the user: a fork bomb gets BlockingIOError
  RLIMIT_CPU    CPU seconds: the kernel is killed (SIGXCPU) past it
  RLIMIT_FSIZE  largest file written
RLIMIT_NPROC is not enforced for root, so when started as root it switches to ``--uid`` first.
"""

import argparse
import os
import resource
import sys

MIB = 2**20


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=int, required=True, help="RLIMIT_DATA in MiB")
    parser.add_argument("--as", dest="address_space", type=int, required=True, help="MiB")
    parser.add_argument("--nproc", type=int, required=True)
    parser.add_argument("--cpu", type=int, required=True, help="CPU seconds")
    parser.add_argument("--fsize", type=int, required=True, help="MiB")
    parser.add_argument("--uid", type=int, default=None, help="user to switch to when root")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.command[:1] == ["--"]:
        args.command = args.command[1:]
    if not args.command:
        parser.error("no command given after --")
    return args


def set_limit(name: str, value: int) -> None:
    """Lower both the soft and the hard limit (a student cannot raise them back)."""
    which = getattr(resource, name, None)
    if which is None:  # e.g. RLIMIT_NPROC is missing on some platforms
        return
    _, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    try:
        resource.setrlimit(which, (value, value))
    except (ValueError, OSError) as error:  # macOS refuses some limits (RLIMIT_AS, RLIMIT_DATA)
        print(f"grader sandbox: could not set {name}: {error}", file=sys.stderr)


def main(argv: list[str]) -> None:
    args = parse(argv)
    if args.uid is not None and os.geteuid() == 0:
        os.setgroups([])
        os.setgid(args.uid)
        os.setuid(args.uid)
    set_limit("RLIMIT_DATA", args.data * MIB)
    set_limit("RLIMIT_AS", args.address_space * MIB)
    set_limit("RLIMIT_NPROC", args.nproc)
    set_limit("RLIMIT_CPU", args.cpu)
    set_limit("RLIMIT_FSIZE", args.fsize * MIB)
    set_limit("RLIMIT_CORE", 0)
    os.execvp(args.command[0], args.command)


if __name__ == "__main__":
    main(sys.argv[1:])
