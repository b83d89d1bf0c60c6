"""Dataset access for operators that write dataset-level records."""
import contextlib

from posekit import fo_compat


@contextlib.contextmanager
def own_dataset(ctx):
    """A private instance of ``ctx.dataset`` for writing its document
    (skeletons, info, run records).

    The App server shares one dataset object between concurrent requests and
    reloads it at each one: a reload landing between a change and its save
    drops the change. Afterwards the shared object is reloaded and forgets
    its cached run results, so callers (and FiftyOne's ``load_annotations``
    on it) see the result, never a stale run.
    """
    try:
        yield fo_compat.private_dataset(ctx.dataset.name)
    finally:
        ctx.dataset.reload()
        fo_compat.forget_cached_runs(ctx.dataset)
