"""Bulk sample tagging for annotation: one database update per call, never a
loop of ``sample.save()``."""
DEFAULT_TAG = "annotate"


def validate_tag(tag):
    """Returns the tag stripped; raises ValueError if it is empty or not text."""
    if not isinstance(tag, str) or not tag.strip():
        raise ValueError("The tag must be a non-empty text")
    return tag.strip()


def count_untagged(view, tag):
    """How many samples of ``view`` lack ``tag`` (what tagging would touch)."""
    return view.match_tags(validate_tag(tag), bool=False).count()


def count_tagged(view, tag):
    """How many samples of ``view`` carry ``tag`` (what untagging would touch)."""
    return view.match_tags(validate_tag(tag)).count()


def tag(view, tag):
    """Adds ``tag`` to every sample of ``view``."""
    view.tag_samples(validate_tag(tag))


def untag(view, tag):
    """Removes ``tag`` from every sample of ``view``."""
    view.untag_samples(validate_tag(tag))
