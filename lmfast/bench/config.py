"""Settings of a run: rounds, duration of one timing and batch sizes, default and quick;
the command-line options that set them in every benchmark command."""

from dataclasses import dataclass

#: Default number of interleaved rounds (``--quick`` uses :data:`QUICK_ROUNDS`).
DEFAULT_ROUNDS = 5
QUICK_ROUNDS = 3
#: Minimum duration of one timing, in seconds; sets the inner repeat count.
DEFAULT_MIN_TIME = 0.020
QUICK_MIN_TIME = 0.005
#: Batch rows: number of fits of the SciPy loop (the subset), default and ``--quick``.
BATCH_SUBSET = 200
QUICK_BATCH_SUBSET = 100


@dataclass(frozen=True)
class BenchConfig:
    """How to time: interleaved rounds, minimum duration of one timing, batch settings.

    Parameters
    ----------
    rounds : int, optional
        Interleaved rounds of every row.
    min_time : float, optional
        Minimum duration of one timing of a single-fit row, in seconds.
    quick : bool, optional
        Batch and peer rows fit their ``quick_n_fits`` and SciPy loops over
        :data:`QUICK_BATCH_SUBSET` fits.
    threads : int or None, optional
        ``threads`` of ``curve_fit_batch`` and of the peers (``None``: every usable core).
    """

    rounds: int = DEFAULT_ROUNDS
    min_time: float = DEFAULT_MIN_TIME
    quick: bool = False
    threads: int | None = None

    def n_fits(self, workload):
        """Number of fits of a batch or peer ``workload`` in this run."""
        return workload.quick_n_fits if self.quick else workload.n_fits

    def subset(self, n_fits):
        """Number of fits of the SciPy loop of a batch row of ``n_fits`` fits."""
        return min(QUICK_BATCH_SUBSET if self.quick else BATCH_SUBSET, n_fits)


def add_run_options(parser, threads_help):
    """Add the options every benchmark command shares: ``--rounds``, ``--threads`` (its
    help says what the threads serve) and ``--json``."""
    parser.add_argument(
        "--rounds",
        type=int,
        metavar="N",
        help=f"interleaved rounds (default {DEFAULT_ROUNDS}, --quick {QUICK_ROUNDS})",
    )
    parser.add_argument("--threads", type=int, metavar="N", help=threads_help)
    parser.add_argument("--json", metavar="FILE", help="also write the results to FILE as JSON")


def check_run_options(parser, args):
    """Refuse ``--rounds`` or ``--threads`` below 1 (``parser.error``)."""
    if args.rounds is not None and args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.threads is not None and args.threads < 1:
        parser.error("--threads must be at least 1")
