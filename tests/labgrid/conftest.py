"""Fixtures of the labgrid tests: the shell, one run of the guest suite, the benchmark.

The guest suite (tests/guest/guest-tests.sh) runs once per session; each of
its "ok - NAME" / "not ok - NAME" lines becomes its own pytest result
(test_rustsample.py). The names are read from the script at collection, so
that every check is a test item before anything boots.
"""

import os
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GUEST_TESTS = REPO / "tests" / "guest" / "guest-tests.sh"
# Where the Buildroot package rustsample-tests and the offline loop install them.
GUEST_SUITE = "/usr/lib/rustsample/guest-tests.sh"
DEV = "/dev/rust-sample"

SUITE_TIMEOUT = int(os.environ.get("RUSTSAMPLE_SUITE_TIMEOUT", "1800"))
BENCH_TIMEOUT = int(os.environ.get("RUSTSAMPLE_BENCH_TIMEOUT", "1800"))


def suite_checks(script=GUEST_TESTS):
    """The checks guest-tests.sh runs without options, in order: (name, conditional).

    `run "NAME" ...` lines, with `for VAR in A B C; do` loops expanded. A check
    inside an `if` runs only on some images (the out-of-tree build is the
    offline loop's only): it is skipped where the suite does not report it.
    Checks behind --debug or --kunit, which these tests do not pass, are left out.
    """
    checks = []
    blocks = []  # the open top-level `if`/`for` blocks
    for line in script.read_text().splitlines():
        if re.match(r"(fi|done)\b", line) and blocks:
            blocks.pop()
            continue
        m = re.match(r"for (\w+) in ([^;]+); do$", line)
        if m:
            blocks.append(("for", m.group(1), m.group(2).split()))
            continue
        m = re.match(r"if (.*); then$", line)
        if m:
            option = re.search(r'-n "\$(debug|kunit|bench|stress)"', m.group(1)) is not None
            blocks.append(("if", option))
            continue
        m = re.match(r'\t?run "([^"]+)"', line)
        if not m or (line.startswith("\t") and not blocks):
            continue
        if any(b[0] == "if" and b[1] for b in blocks):
            continue
        names = [m.group(1)]
        for b in blocks:
            if b[0] == "for":
                names = [n.replace(f"${b[1]}", v) for n in names for v in b[2]]
        conditional = any(b[0] == "if" for b in blocks)
        checks.extend((n, conditional) for n in names if "$" not in n)
    return checks


@pytest.fixture(scope="session")
def shell(strategy):
    """The shell of the booted target, from power-on through U-Boot; powered off at the end."""
    strategy.transition("shell")
    yield strategy.shell
    if strategy.broken is None:
        strategy.transition("off")


@pytest.fixture(scope="session")
def suite_run(shell):
    """Runs guest-tests.sh once: {name: (passed, detail lines)}, the summary, all output."""
    out, _, code = shell.run(f"test -x {GUEST_SUITE}")
    if code != 0:
        pytest.fail(f"{GUEST_SUITE} is not on the image: build it with the rustsample-tests "
                    "package (Buildroot: BR2_PACKAGE_RUSTSAMPLE_TESTS=y)", pytrace=False)
    lines, _, code = shell.run(f"sh {GUEST_SUITE}", timeout=SUITE_TIMEOUT)
    results = {}
    current = None
    summary = None
    for line in lines:
        m = re.match(r"(ok|not ok) - (.*)$", line.strip())
        if m:
            current = m.group(2)
            results[current] = (m.group(1) == "ok", [])
            continue
        if line.startswith("#") and current is not None:
            results[current][1].append(line[1:].strip())
            continue
        if line.startswith("guest: "):
            summary = line.strip()
    return {"results": results, "summary": summary, "status": code, "lines": lines}


def _bench_table(rows):
    out = [f"{'read':>8}  {'rust-sample MB/s':>16}  {'urandom MB/s':>12}  "
           f"{'ratio':>6}  {'min':>6}  {'max':>6}"]
    for r in rows:
        if r["kind"] == "read":
            out.append(f"{int(r['size']):>8}  {float(r['dev_mbs']):>16.2f}  "
                       f"{float(r['ref_mbs']):>12.2f}  {float(r['ratio']):>6.3f}  "
                       f"{float(r['min']):>6.3f}  {float(r['max']):>6.3f}")
        else:
            out.append(f"ChaCha20 alone (one CPU): {float(r['mbs']):.2f} MB/s, "
                       f"{float(r['ns']):.2f} ns/byte")
    return out


@pytest.fixture(scope="session")
def bench_table(request):
    """Collects the benchmark rows; printed at the end of the session."""
    rows = []
    request.config.stash[BENCH_KEY] = rows
    return rows


BENCH_KEY = pytest.StashKey[list]()


def pytest_terminal_summary(terminalreporter, config):
    rows = config.stash.get(BENCH_KEY, None)
    if not rows:
        return
    env = config.option.lg_env or os.environ.get("LG_ENV", "")
    where = os.environ.get("LG_PLACE") or Path(env).stem
    terminalreporter.section(f"devcheck bench {DEV} /dev/urandom ({where})")
    for line in _bench_table(rows):
        terminalreporter.write_line(line)
