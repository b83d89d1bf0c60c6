"""Progress reporting for long CVAT uploads and downloads: a callback set
for the duration of a ``with`` block (the operators pass ``ctx.set_progress``)."""
import contextlib
import contextvars

_PROGRESS = contextvars.ContextVar("posekit_cvat_progress", default=None)


@contextlib.contextmanager
def progress_callback(fn):
    """Within this context, uploads and downloads call ``fn(fraction, label)``."""
    token = _PROGRESS.set(fn)
    try:
        yield
    finally:
        _PROGRESS.reset(token)


def report(fraction, label):
    fn = _PROGRESS.get()
    if fn is not None:
        fn(min(1.0, max(0.0, float(fraction))), label)

