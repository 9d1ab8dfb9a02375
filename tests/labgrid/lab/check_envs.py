"""Loads lab board environments and builds their targets without hardware.

For each environment file given: labgrid reads it, fetches the resources of
its place from the coordinator (LG_COORDINATOR; the place must be acquired),
and creates and binds every driver to them, as a test session does before the
first power-on. Nothing is activated: no power switch, console or SD mux is
touched. Prints each target's resources and drivers; exits non-zero when an
environment does not load or a driver does not bind.
"""

import sys

from labgrid import Environment
from labgrid.binding import BindingMixin


def describe(obj):
    return f"{type(obj).__name__}" + (f" '{obj.name}'" if getattr(obj, "name", None) else "")


def check(path):
    env = Environment(config_file=path)
    try:
        target = env.get_target("main")
        print(f"{path}: target main")
        for r in target.resources:
            avail = "available" if r.avail else "unavailable (no hardware here)"
            print(f"  resource {describe(r)}: {avail}")
        for d in target.drivers:
            bound = []
            for name in getattr(d, "bindings", {}):
                supplier = getattr(d, name, None)
                if supplier is not None:
                    bound.append(f"{name}={describe(supplier)}")
            print(f"  driver   {describe(d)}" + (f" <- {', '.join(bound)}" if bound else ""))
            assert isinstance(d, BindingMixin)
        strategy = target.get_driver("Strategy", activate=False)
        print(f"  strategy {describe(strategy)}: power={describe(strategy.power)}, "
              f"console={describe(strategy.console)}, uboot={describe(strategy.uboot) if strategy.uboot else 'none'}, "
              f"sdmux={describe(strategy.sdmux) if strategy.sdmux else 'none'}")
    finally:
        env.cleanup()


def main():
    failed = 0
    for path in sys.argv[1:]:
        try:
            check(path)
        except Exception as e:  # report every file, then fail
            print(f"{path}: FAILED: {type(e).__name__}: {e}")
            failed = 1
    return failed


if __name__ == "__main__":
    sys.exit(main())
