"""rust_sample on a target booted by labgrid: boot, module, device node, the
guest suite check by check, and the benchmark.

The suite's own lines decide: a "not ok" fails its test, with the lines the
suite printed under it; a check the suite did not report fails too, unless it
only runs on some images (then it is skipped).
"""

import re

import pytest

from conftest import DEV, suite_checks
from rustsample_strategy import parse_bench


def test_boot_through_u_boot(strategy, shell, record_property):
    """The target came up through U-Boot where it has one, and a shell answers."""
    if strategy.uboot is None:
        pytest.skip("this target boots without U-Boot (its firmware starts the kernel)")
    assert strategy.uboot_version, "no U-Boot banner seen on the console"
    record_property("u_boot", strategy.uboot_version)


def test_module_loaded_by_init_script(strategy, shell, record_property):
    record_property("kernel", shell.run_check("uname -srm")[0])
    assert strategy.init_result is not None
    assert strategy.init_result.endswith("OK"), f"the init script said: {strategy.init_result}"
    _, _, code = shell.run("grep -q '^rust_sample ' /proc/modules")
    assert code == 0, "rust_sample is not in /proc/modules"


def test_device_node_mode(shell):
    _, _, code = shell.run(f"test -c {DEV}")
    assert code == 0, f"{DEV} is not a character device"
    out = shell.run_check(f"ls -l {DEV}")
    assert out[0].startswith("cr--r--r--"), f"{DEV} is not mode 0444: {out[0]}"


@pytest.mark.parametrize("check", [c for c, _ in suite_checks()],
                         ids=[c for c, _ in suite_checks()])
def test_guest_suite(suite_run, check, record_property):
    """One "ok - NAME" line of tests/guest/guest-tests.sh."""
    conditional = dict(suite_checks())[check]
    result = suite_run["results"].get(check)
    if result is None:
        if conditional:
            pytest.skip("the suite does not run this check on this image")
        pytest.fail(f"guest-tests.sh did not report \"{check}\" "
                    f"(it ended with {suite_run['summary']!r})", pytrace=False)
    passed, detail = result
    if detail:
        record_property("detail", " | ".join(detail))
    if not passed:
        pytest.fail("not ok - " + check + "".join(f"\n#   {d}" for d in detail), pytrace=False)


def test_guest_suite_summary(suite_run, record_property):
    """The suite's own verdict: every line accounted for, none unexpected, exit 0."""
    record_property("summary", suite_run["summary"] or "")
    known = {c for c, _ in suite_checks()}
    extra = [n for n in suite_run["results"] if n not in known]
    failed_extra = [n for n in extra if not suite_run["results"][n][0]]
    if extra:
        record_property("checks_not_collected", "; ".join(extra))
    assert suite_run["summary"], "guest-tests.sh printed no summary line:\n" + \
        "\n".join(suite_run["lines"][-20:])
    assert not failed_extra, f"checks not known to these tests failed: {failed_extra}"
    assert suite_run["status"] == 0, f"guest-tests.sh exited {suite_run['status']}: " \
        f"{suite_run['summary']}"


def test_bench(shell, suite_run, bench_table, record_property):
    """devcheck bench: rust-sample against urandom, recorded in the JUnit report.

    Runs after the suite (which it depends on) so the two do not share the CPUs.
    """
    from conftest import BENCH_TIMEOUT
    lines = shell.run_check(f"devcheck bench {DEV} /dev/urandom", timeout=BENCH_TIMEOUT)
    rows = parse_bench(lines)
    reads = [r for r in rows if r["kind"] == "read"]
    assert reads, "devcheck bench printed no BENCH lines:\n" + "\n".join(lines)
    for r in rows:
        if r["kind"] == "read":
            p = f"bench_read_{r['size']}"
            record_property(f"{p}_ratio", r["ratio"])
            record_property(f"{p}_ratio_min", r["min"])
            record_property(f"{p}_ratio_max", r["max"])
            record_property(f"{p}_rust_sample_MBps", r["dev_mbs"])
            record_property(f"{p}_urandom_MBps", r["ref_mbs"])
        else:
            record_property("bench_chacha20_MBps", r["mbs"])
            record_property("bench_chacha20_ns_per_byte", r["ns"])
    bench_table.extend(rows)
    assert not any(re.match(r"FAIL", line) for line in lines)
