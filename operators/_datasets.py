"""Dataset access for operators that write dataset-level records."""
import contextlib

import fiftyone as fo


@contextlib.contextmanager
def own_dataset(ctx):
    """A private instance of ``ctx.dataset`` for writing its document
    (skeletons, info, run records).

    The App server shares one dataset object between concurrent requests and
    reloads it at each one: a reload landing between a change and its save
    drops the change. The shared object is reloaded afterwards, so callers
    see the result.
    """
    try:
        yield fo.Dataset._make_instance(ctx.dataset.name, False)
    finally:
        ctx.dataset.reload()
