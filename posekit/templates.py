"""The skeleton template library, read from ``assets/templates/*.json``.

Each file is one template (data, not code)::

    {"id", "name", "source" (paper + official repo URL), "labels",
     "edge_groups": [{"name", "edges": [[label, label], ...]}],
     "flip_pairs": [[left, right], ...], "sigmas": [...] or null,
     "layout": [[x, y] per label]}

``layout`` is a default 2-D drawing in a 0..100 box, x to the right and y
downwards (image coordinates); people face the viewer, so their left side is
on the right of the drawing.
"""
import functools
import json
import os

from posekit import ASSETS_DIR
from posekit.skeleton import EdgeGroup, Skeleton

TEMPLATES_DIR = os.path.join(ASSETS_DIR, "templates")


class Template:
    """One template: ``id``, ``name``, ``source``, ``labels``, ``edge_groups``
    (list of ``{"name", "edges"}``), ``flip_pairs``, ``sigmas``, ``layout``."""

    def __init__(self, d):
        self.id = d["id"]
        self.name = d["name"]
        self.source = d["source"]
        self.labels = list(d["labels"])
        self.edge_groups = [
            {"name": g["name"], "edges": [list(e) for e in g["edges"]]}
            for g in d["edge_groups"]
        ]
        self.flip_pairs = [list(p) for p in d.get("flip_pairs") or []]
        self.sigmas = d.get("sigmas")
        self.layout = [list(p) for p in d["layout"]]

    def to_model(self):
        """This template as a :class:`posekit.skeleton.Skeleton`."""
        return Skeleton(
            labels=list(self.labels),
            edge_groups=[
                EdgeGroup(g["name"], [tuple(e) for e in g["edges"]])
                for g in self.edge_groups
            ],
            flip_pairs=[list(p) for p in self.flip_pairs] or None,
            sigmas=list(self.sigmas) if self.sigmas else None,
            layout=[list(p) for p in self.layout],
        )

    def to_skeleton(self):
        """This template as a :class:`fo.KeypointSkeleton`."""
        return self.to_model().to_fo()

    def __repr__(self):
        return f"Template({self.id!r}, {len(self.labels)} keypoints)"


@functools.lru_cache(maxsize=None)
def _load_all():
    out = {}
    for name in sorted(os.listdir(TEMPLATES_DIR)):
        if name.endswith(".json"):
            with open(os.path.join(TEMPLATES_DIR, name), encoding="utf-8") as f:
                d = json.load(f)
            out[d["id"]] = d
    return out


def list_templates():
    """All templates, in file-name order."""
    return [Template(d) for d in _load_all().values()]


def template_ids():
    """The ids of all templates."""
    return list(_load_all())


def get_template(template_id):
    """The template with this id; raises ``KeyError`` naming the known ids."""
    try:
        return Template(_load_all()[template_id])
    except KeyError:
        raise KeyError(
            f"Unknown template {template_id!r}; known: {', '.join(_load_all())}"
        ) from None


def find_template(labels):
    """The template whose labels are exactly ``labels``, else ``None``."""
    labels = list(labels)
    for d in _load_all().values():
        if d["labels"] == labels:
            return Template(d)
    return None
