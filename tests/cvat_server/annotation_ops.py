"""What PUT / PATCH / DELETE do to a task's stored annotations, and the
id rules of the recorded servers."""
from .annotations import _DUPLICATE, AnnotationError


def put(store, start, stop, tags, shapes, tracks):
    """Replace everything on frames start..stop."""
    store.clear_range(start, stop)
    add(store, tags, shapes, tracks)


def add(store, tags, shapes, tracks):
    for t in tags:
        store.tags.setdefault(t["frame"], []).append(t)
    for s in shapes:
        store.shapes.setdefault(s["frame"], []).append(s)
    store.tracks.extend(tracks)


def check_ids(payload, present):
    """2.73's id rules: 400 ``must be absent`` for ids on PUT / PATCH create,
    ``must be present and not null`` for missing ids on PATCH delete (on the
    objects and their skeleton elements)."""
    message = "must be present and not null" if present else "must be absent"

    def bad(item):
        return isinstance(item, dict) and (item.get("id") is None) == present

    failed = False
    body = {}
    for key in ("tags", "shapes", "tracks"):
        items = payload.get(key) or []
        if not isinstance(items, list):
            continue
        out = []
        for item in items:
            err = {}
            if bad(item):
                err["id"] = [message]
            elements = item.get("elements") if isinstance(item, dict) else None
            if isinstance(elements, list) and any(bad(e) for e in elements):
                err["elements"] = [{"id": [message]} if bad(e) else {} for e in elements]
            failed = failed or bool(err)
            out.append(err)
        body[key] = out
    if failed:
        raise AnnotationError({k: v for k, v in body.items() if any(v)})


def _all_ids(records):
    for r in records:
        yield r["id"]
        for e in r.get("elements") or ():
            yield e["id"]


def check_unique(store, tags, shapes, tracks):
    """400 (CVAT's plain-text database error) when a client-given id is
    already taken by a stored object or element."""
    taken = {
        "tags": set(_all_ids(t for ts in store.tags.values() for t in ts)),
        "shapes": set(_all_ids(s for ss in store.shapes.values() for s in ss)),
        "tracks": set(_all_ids(store.tracks)),
    }
    for key, items in (("tags", tags), ("shapes", shapes), ("tracks", tracks)):
        for oid in _all_ids(items):
            if oid in taken[key]:
                raise AnnotationError(_DUPLICATE % oid)


def remove(store, tags, shapes, tracks):
    """Delete the objects with these ids."""
    for key, items in (("tags", tags), ("shapes", shapes)):
        ids = {i["id"] for i in items}
        if not ids:
            continue
        index = getattr(store, key)
        for f in list(index):
            kept = [o for o in index[f] if o["id"] not in ids]
            if kept:
                index[f] = kept
            else:
                del index[f]
    ids = {t["id"] for t in tracks}
    if ids:
        store.tracks = [t for t in store.tracks if t["id"] not in ids]
