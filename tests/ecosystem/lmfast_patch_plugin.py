"""A pytest plugin that runs another package's test suite with ``lmfast.patch()`` in force.

Load it with ``-p lmfast_patch_plugin`` (this folder on ``PYTHONPATH``); ``.ci/ecosystem``
runs lmfit's and astropy.modeling's suites this way.  The plugin

- calls ``lmfast.patch()`` before pytest imports the suite's ``conftest.py`` files (lmfit's
  imports lmfit), so the suite's modules import SciPy's names already rebound, and
  ``lmfast.unpatch()`` when pytest unconfigures;
- at the end of the session prints ``lmfast.patch_calls()``, the calls that reached lmfast
  by calling package and function, and writes them to the JSON file named by
  ``--lmfast-calls-json`` (or the ``LMFAST_PATCH_CALLS_JSON`` environment variable);
- fails the session when a package named by ``--lmfast-expect`` (or the comma-separated
  ``LMFAST_PATCH_EXPECT``) made no call that reached lmfast: the patch missed it.
"""

import json
import os
import pathlib

import pytest

import lmfast

#: Environment variables read when the matching option is not given.
CALLS_JSON_ENV = "LMFAST_PATCH_CALLS_JSON"
EXPECT_ENV = "LMFAST_PATCH_EXPECT"

#: What this session saw, filled in as it goes.
_session = {"patched_names": (), "calls": {}, "missing": []}


def pytest_addoption(parser):
    group = parser.getgroup("lmfast_patch", "lmfast.patch() in force")
    group.addoption(
        "--lmfast-calls-json",
        default=os.environ.get(CALLS_JSON_ENV),
        metavar="PATH",
        help=f"write the calls that reached lmfast to this JSON file (default ${CALLS_JSON_ENV})",
    )
    group.addoption(
        "--lmfast-expect",
        action="append",
        metavar="PACKAGE",
        help=(
            f"fail the session if no call from PACKAGE reached lmfast (repeatable; default "
            f"the comma-separated ${EXPECT_ENV})"
        ),
    )


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    # The earliest hook a -p plugin gets: pytest_configure would come after the suite's
    # initial conftest.py files, and so after their imports of lmfit or astropy.
    lmfast.patch()
    _session["patched_names"] = tuple(lmfast.patched_names())


def pytest_report_header(config):
    names = _session["patched_names"]
    return [f"lmfast {lmfast.__version__} patched ({len(names)}): {', '.join(names)}"]


def pytest_unconfigure(config):
    lmfast.unpatch()


def expected_packages(config):
    """The packages whose calls must reach lmfast, from the option or the environment.

    Parameters
    ----------
    config : pytest.Config

    Returns
    -------
    list of str
    """
    named = config.getoption("lmfast_expect")
    if named is None:
        named = os.environ.get(EXPECT_ENV, "").split(",")
    return [name.strip() for name in named if name.strip()]


def calls_by_package(patch_calls):
    """``lmfast.patch_calls()`` as ``{package: {function: count}}``, sorted by name.

    Parameters
    ----------
    patch_calls : dict
        ``{(package, function): count}``.

    Returns
    -------
    dict
    """
    nested = {}
    for (package, function), count in sorted(patch_calls.items()):
        nested.setdefault(package, {})[function] = count
    return nested


def outcome_counts(config):
    """How many tests passed, failed, were skipped and so on, as pytest's summary counts.

    Parameters
    ----------
    config : pytest.Config

    Returns
    -------
    dict
        ``{outcome: count}`` for the outcomes that occurred ("passed", "failed", "error",
        "skipped", "xfailed", "xpassed", "deselected").
    """
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return {}
    return {
        outcome: len(reports)
        for outcome, reports in reporter.stats.items()
        if outcome in ("passed", "failed", "error", "skipped", "xfailed", "xpassed", "deselected")
    }


def pytest_sessionfinish(session, exitstatus):
    calls = calls_by_package(lmfast.patch_calls())
    expected = expected_packages(session.config)
    missing = [name for name in expected if sum(calls.get(name, {}).values()) == 0]
    _session.update(calls=calls, missing=missing)
    if missing and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    path = session.config.getoption("lmfast_calls_json")
    if path:
        record = {
            "patched_names": list(_session["patched_names"]),
            "calls": calls,
            "totals": {package: sum(counts.values()) for package, counts in calls.items()},
            "expected": expected,
            "missing": missing,
            "exitstatus": int(session.exitstatus),
            "outcomes": outcome_counts(session.config),
        }
        pathlib.Path(path).write_text(json.dumps(record, indent=2) + "\n")


def pytest_terminal_summary(terminalreporter):
    calls = _session["calls"]
    terminalreporter.write_sep("=", "calls that reached lmfast (lmfast.patch_calls())")
    terminalreporter.write_line(f"patched: {', '.join(_session['patched_names'])}")
    if not calls:
        terminalreporter.write_line("none")
    for package, counts in calls.items():
        detail = ", ".join(f"{function} {count}" for function, count in counts.items())
        terminalreporter.write_line(f"{package}: {sum(counts.values())} ({detail})")
    for package in _session["missing"]:
        terminalreporter.write_line(
            f"FAILED: no call from {package} reached lmfast: lmfast.patch() missed it",
            red=True,
            bold=True,
        )
