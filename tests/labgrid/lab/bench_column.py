#!/usr/bin/env python3
"""The benchmark figures of labgrid JUnit reports as a column of the README's
benchmark table (README.md, "Benchmark").

  python3 tests/labgrid/lab/bench_column.py output/labgrid/board-rpi4*.xml

One report: each cell is the median ratio with its min-max over the nine
repetitions, as the QEMU columns are written. Several reports (one per boot):
each cell is the range of the medians, then the MB/s of each run.
"""

import sys
import xml.etree.ElementTree as ET

ROWS = [(16, "16 B"), (64, "64 B"), (256, "256 B"), (4096, "4 KiB"), (65536, "64 KiB"),
        (1048576, "1 MiB")]


def bench_properties(path):
    root = ET.parse(path).getroot()
    for case in root.iter("testcase"):
        if case.get("name") == "test_bench":
            props = {p.get("name"): p.get("value") for p in case.iter("property")}
            if props:
                return props
    raise SystemExit(f"{path}: no test_bench with properties (did the benchmark run?)")


def main(paths):
    if not paths:
        raise SystemExit(__doc__)
    runs = [bench_properties(p) for p in paths]
    print(f"| read | <board>, read(2) ({len(runs)} run{'s' if len(runs) > 1 else ''}) |")
    print("| --- | --- |")
    for size, label in ROWS:
        k = f"bench_read_{size}"
        if len(runs) == 1:
            r = runs[0]
            cell = f"{r[k + '_ratio']} ({r[k + '_ratio_min']}–{r[k + '_ratio_max']})"
        else:
            medians = sorted(float(r[k + "_ratio"]) for r in runs)
            cell = f"{medians[0]:.3f}–{medians[-1]:.3f}"
        print(f"| {label} | {cell} |")
    mbs = ", ".join(f"{float(r['bench_read_1048576_rust_sample_MBps']):.0f} / "
                    f"{float(r['bench_read_1048576_urandom_MBps']):.0f}" for r in runs)
    print(f"| 1 MiB, MB/s (rust-sample / urandom) | {mbs} |")
    ns = ", ".join(f"{float(r['bench_chacha20_ns_per_byte']):.2f}" for r in runs)
    print(f"| ChaCha20 alone (one CPU) | {ns} ns/byte |")


if __name__ == "__main__":
    main(sys.argv[1:])
