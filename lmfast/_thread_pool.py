"""Worker threads for a batch: started and waited for safely under Ctrl-C, cancelled on error.

A batch driver hands :class:`Workers` a ``target(slot)`` to run on one thread per slot;
the calling thread only starts them, waits (calling a poll, e.g. to draw a progress bar)
and, on any exception of its own (KeyboardInterrupt included), cancels and waits for them
before the exception propagates, so that no thread outlives the call.
"""

import contextvars
import signal
import threading

__all__ = ["Workers"]


class Workers:
    """Threads running ``target(slot)``, started and waited for safely under Ctrl-C.

    Completion is tracked with an event per thread rather than Thread.join(timeout): on
    Python 3.11 a join interrupted by KeyboardInterrupt can mark a running thread as
    stopped, after which join() no longer waits for it.

    Parameters
    ----------
    target : callable
        ``target(slot)``, run once on each thread.
    slots : iterable
        One thread per slot, given its slot.
    context : bool
        Run each thread in a copy of the caller's contextvars context (then the caller's
        ``np.errstate`` holds in the threads).
    """

    def __init__(self, target, slots, context=False):
        self.done = [threading.Event() for _ in slots]

        def run(slot, done):
            try:
                target(slot)
            finally:
                done.set()

        self.threads = []
        for slot, done in zip(slots, self.done):
            if context:
                # In a copy of the caller's context: its np.errstate holds in the thread.
                call, args = contextvars.copy_context().run, (run, slot, done)
            else:
                call, args = run, (slot, done)
            self.threads.append(threading.Thread(target=call, args=args, daemon=True))

    def start(self):
        """Start every thread, with SIGINT held back (in the main thread, where Python
        delivers it) until all have started, then handed to the previous handler: a
        KeyboardInterrupt inside Thread.start() could leave a thread nobody waits for."""
        previous = signal.getsignal(signal.SIGINT)
        if threading.current_thread() is not threading.main_thread() or previous is None:
            self._start_each()
            return
        held = []
        signal.signal(signal.SIGINT, lambda signum, frame: held.append(frame))
        try:
            self._start_each()
        finally:
            signal.signal(signal.SIGINT, previous)
        if held:
            if callable(previous):
                previous(signal.SIGINT, held[0])
            elif previous == signal.SIG_DFL:
                signal.raise_signal(signal.SIGINT)

    def _start_each(self):
        for thread, done in zip(self.threads, self.done):
            try:
                thread.start()
            except BaseException:
                done.set()  # never started: nothing to wait for
                raise

    def wait(self, poll=None, interval=0.05):
        """Wait until every thread has finished, calling poll() every interval seconds."""
        for done in self.done:
            while not done.wait(interval):
                if poll is not None:
                    poll()

    def stop(self, cancel):
        """cancel(), then wait for every started thread to finish and exit."""
        cancel()
        for thread, done in zip(self.threads, self.done):
            if thread.ident is None:
                done.set()
            done.wait()
            if thread.ident is not None:
                thread.join()
