"""Validation and normalisation of annotation payloads (``LabeledDataRequest``)
the way the recorded CVAT versions accept them (``Context.scores``: 2.73's
per-shape and per-element ``score``), and the PUT/PATCH/DELETE operations.

Errors are raised as ``AnnotationError`` with a DRF-style body: the collection
name keyed to a list with one object per item (``{}`` for valid items), e.g.
``{"shapes": [{}, {"label_id": ["..."]}]}``.

Skeleton elements are stored (and therefore returned) in a deterministic order
that differs from sublabel order, because real CVAT returns them in arbitrary
order and clients must match them by ``label_id``.
"""
import json
import re

from .fields import (
    _NUMBER, SOURCES, _attributes, _common, _geometry, _int, _label, _score,
)

_ELEMENT_KEYS = frozenset((
    "type", "frame", "label_id", "occluded", "outside", "z_order", "rotation",
    "points", "id", "group", "source", "attributes", "score",
))
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class Stored(dict):
    """A stored annotation object with its JSON text cached (read-only)."""

    __slots__ = ("json",)


_ELEMENT_JSON = (
    '{"attributes":[],"frame":%d,"group":%d,"id":%d,"label_id":%d,'
    '"occluded":%s,"outside":%s,"points":[%r,%r],"rotation":0.0,'
    '"source":"%s","type":"points","z_order":%d}'
)
_SCORED_ELEMENT_JSON = _ELEMENT_JSON[:-1] + ',"score":%r}'
_DUPLICATE = ('duplicate key value violates unique constraint "engine_labeledshape_pkey"\n'
              'DETAIL:  Key (id)=(%d) already exists.\n')
_JSON_BOOL = {True: "true", False: "false"}


def _text(obj):
    return obj.json if type(obj) is Stored else _ENCODE(obj)


def _store(record):
    """Wrap a (key-sorted) record, caching its JSON; elements are spliced in
    from their own cached text."""
    rec = Stored(record)
    elements = record.get("elements")
    if elements:
        rest = {k: v for k, v in record.items() if k not in ("attributes", "elements")}
        rec.json = '{"attributes":%s,"elements":[%s],%s' % (
            _ENCODE(record["attributes"]), ",".join(map(_text, elements)),
            _ENCODE(rest)[1:])
    else:
        rec.json = _ENCODE(record)
    return rec


def encode(tags, shapes, tracks, intervals=False):
    """The JSON text of a ``LabeledData`` answer, reusing cached encodings
    (2.73 adds ``intervals``)."""
    def text(items):
        return ",".join(i.json if type(i) is Stored else _ENCODE(i) for i in items)

    return ('{%s"shapes":[%s],"tags":[%s],"tracks":[%s],"version":0}'
            % ('"intervals":[],' if intervals else "", text(shapes), text(tags), text(tracks)))


_INT_SCORE = re.compile(r'"score":([01])(?=[,}])')


def as_served(text):
    """A stored answer as a GET serves it: scores are floats (``1.0``), as
    CVAT reads them back from its database."""
    return _INT_SCORE.sub(r'"score":\1.0', text)


class AnnotationError(Exception):
    """A 400 answer with a field-keyed body (or plain text, as CVAT's
    database errors are)."""

    def __init__(self, body):
        super().__init__(body)
        self.body = body


class _ItemError(Exception):
    def __init__(self, errors):
        super().__init__(errors)
        self.errors = errors


class Context:
    """What validation needs to know about the task/job being written."""

    def __init__(self, labels, start, stop, scores=False, strict=False):
        self.start, self.stop, self.scores, self.strict = start, stop, scores, strict
        self.top = {}  # label id -> (type, attribute ids, {sublabel id: attr ids})
        for label in labels:
            subs = {
                s["id"]: {a["id"] for a in s["attributes"]}
                for s in label["sublabels"]
            }
            self.top[label["id"]] = (
                label["type"], {a["id"] for a in label["attributes"]}, subs
            )


def _order_elements(elements, seed):
    """A deterministic order that is never sublabel order (for n > 1)."""
    n = len(elements)
    if n < 2:
        return elements
    shift = seed % n or 1
    rotated = elements[shift:] + elements[:shift]
    return rotated[::-1] if seed % 2 else rotated


class Normalizer:
    """Turns a request payload into stored records.

    ``ids``: "new" (server ids), "keep" (the client's ids where given, server
    ids elsewhere) or "echo" (the client's ids or null: a delete's answer).
    ``partial``: a skeleton may carry a subset of its elements (PATCH).
    """

    def __init__(self, state, ctx, ids="new", partial=False):
        self.state, self.ctx, self.ids, self.partial = state, ctx, ids, partial
        self.keep_ids = ids != "new"
        self._next_shape_id = state._ids["shape"].__next__ if ids != "echo" else lambda: None

    def _id(self, item, kind):
        if self.keep_ids and item.get("id") is not None:
            return item["id"]
        return None if self.ids == "echo" else self.state.next_id(kind)

    def collection(self, payload, key):
        items = payload.get(key, [])
        if items is None:
            items = []
        if not isinstance(items, list):
            raise AnnotationError({key: ['Expected a list of items but got type "%s".' % type(items).__name__]})
        method = getattr(self, key[:-1])
        out = []
        for i, item in enumerate(items):
            try:
                if not isinstance(item, dict):
                    raise _ItemError({"non_field_errors": ["Invalid data. Expected a dictionary, but got %s." % type(item).__name__]})
                out.append(_store(method(item)))
            except _ItemError as e:
                body = [{} for _ in items]
                body[i] = e.errors
                raise AnnotationError({key: body}) from None
        return out

    def tag(self, item):
        errors = {}
        frame, source, group = _common(item, errors, self.ctx)
        lid = _label(item, errors, self.ctx.top)
        attrs = _attributes(item, self.ctx.top[lid][1], errors) if lid else []
        if errors:
            raise _ItemError(errors)
        return {
            "attributes": attrs, "frame": frame, "group": group,
            "id": self._id(item, "tag"), "label_id": lid, "source": source,
        }

    def shape(self, item):
        errors = {}
        frame, source, group = _common(item, errors, self.ctx)
        lid = _label(item, errors, self.ctx.top)
        geom = _geometry(item, errors, self.ctx)
        attrs = _attributes(item, self.ctx.top[lid][1], errors) if lid else []
        score = _score(item, errors, self.ctx)
        if errors:
            raise _ItemError(errors)
        ltype, _, subs = self.ctx.top[lid]
        sid = self._id(item, "shape")  # the parent's id comes first, as in CVAT
        elements = item.get("elements", []) or []
        if geom["type"] == "skeleton" or elements:
            if ltype != "skeleton" or geom["type"] != "skeleton":
                raise _ItemError({"label_id": [
                    f"Shape of type '{geom['type']}' cannot use label #{lid} of type '{ltype}'"
                    if geom["type"] == "skeleton" else
                    "Only skeleton shapes can have elements"]})
            elements = self._elements(elements, subs, frame, self._element)
        elif ltype not in ("any", geom["type"]):
            raise _ItemError({"label_id": [
                f"Shape of type '{geom['type']}' cannot use label #{lid} of type '{ltype}'"]})
        shape = {"attributes": attrs,
                 "elements": _order_elements(elements, sid or 0) if geom["type"] == "skeleton" else []}
        shape.update(frame=frame, group=group, id=sid, label_id=lid,
                     source=source)
        if score is not None:
            shape["score"] = score
        if self.ids == "echo" and "elements" not in item:
            del shape["elements"]  # a delete's answer echoes what was sent
        shape.update(geom)
        if geom["type"] == "skeleton":
            shape["points"] = []
        return _sorted(shape)

    def _elements(self, elements, subs, frame, make, require_all=True):
        if not isinstance(elements, list):
            raise _ItemError({"elements": ["Expected a list of items."]})
        out, seen = [], set()
        fast = self._fast_element if make == self._element else None
        for i, el in enumerate(elements):
            if fast is not None and type(el) is dict:
                lid = el.get("label_id")
                if type(lid) is int and lid in subs and lid not in seen:
                    rec = fast(el, lid, frame)
                    if rec is not None:
                        seen.add(lid)
                        out.append(rec)
                        continue
            errors = {}
            if not isinstance(el, dict):
                errors["non_field_errors"] = ["Invalid data. Expected a dictionary."]
            else:
                lid = _label(el, errors, subs)
                if lid in seen:
                    errors["label_id"] = [f"Sublabel #{lid} is used by more than one element"]
                seen.add(lid)
                if not errors:
                    try:
                        out.append(make(el, lid, subs[lid], frame))
                    except _ItemError as e:
                        errors = e.errors
            if errors:
                body = [{} for _ in elements]
                body[i] = errors
                raise _ItemError({"elements": body})
        missing = set(subs) - seen
        if self.partial and not out and self.ctx.strict:
            raise _ItemError({"elements": ["at least one required for skeleton shape"]})
        if missing and not self.partial and require_all:  # tracks may leave nodes out
            raise _ItemError({"elements": [
                "Skeleton must have one element per sublabel; missing sublabels "
                + ", ".join(f"#{m}" for m in sorted(missing))]})
        return out

    def _fast_element(self, el, lid, frame):
        """The common element without error bookkeeping; None when unsure
        (then ``_element`` decides and explains)."""
        if not el.keys() <= _ELEMENT_KEYS:
            return None
        get = el.get
        pts = get("points")
        if type(pts) is not list or len(pts) != 2:
            return None
        x, y = pts
        if type(x) not in _NUMBER or type(y) not in _NUMBER:
            return None
        x, y = float(x), float(y)
        if x - x != 0 or y - y != 0:  # nan or inf
            return None
        score = get("score", 1) if self.ctx.scores else None
        if self.ctx.scores and (type(score) not in _NUMBER or not 0 <= score <= 1):
            return None
        f, occ, out = get("frame", frame), get("occluded", False), get("outside", False)
        z, group, src = get("z_order", 0), get("group", 0), get("source", "manual")
        attrs, rot = get("attributes"), get("rotation", 0)
        if (type(f) is not int or f != frame or type(occ) is not bool
                or type(out) is not bool or type(z) is not int
                or get("type", "points") != "points" or src not in SOURCES
                or (attrs is not None and attrs != [])
                or type(rot) not in _NUMBER or rot != 0):
            return None
        if group is None:
            group = 0
        elif type(group) is not int or group < 0:
            return None
        if self.keep_ids and get("id") is not None:
            oid = el["id"]
        else:
            oid = self._next_shape_id()
        if type(oid) is not int:
            return None
        rec = Stored(attributes=[], frame=frame, group=group, id=oid,
                     label_id=lid, occluded=occ, outside=out, points=[x, y],
                     rotation=0.0, source=src, type="points", z_order=z)
        values = (frame, group, oid, lid, _JSON_BOOL[occ], _JSON_BOOL[out], x, y, src, z)
        if score is None:
            rec.json = _ELEMENT_JSON % values
        else:
            rec["score"] = score
            rec.json = _SCORED_ELEMENT_JSON % (values + (score,))
        return rec

    def _element(self, el, lid, attr_ids, frame):
        errors = {}
        eframe, source, group = _common(el, errors, self.ctx, frame_required=False)
        geom = _geometry(dict(el, type=el.get("type", "points")), errors, self.ctx)
        attrs = _attributes(el, attr_ids, errors)
        score = _score(el, errors, self.ctx)
        if geom["type"] != "points":
            errors["type"] = ["Skeleton elements must be of type 'points'"]
        elif len(geom["points"]) != 2 and not errors.get("points"):
            errors["points"] = ["A skeleton element has exactly two coordinates"]
        if eframe is not None and eframe != frame:
            errors["frame"] = ["An element must be on its skeleton's frame"]
        if errors:
            raise _ItemError(errors)
        out = {"attributes": attrs, "frame": frame, "group": group,
               "id": self._id(el, "shape"), "label_id": lid,
               "source": source}
        if score is not None:
            out["score"] = score
        out.update(geom)
        return _sorted(out)

    def track(self, item):
        errors = {}
        frame, source, group = _common(item, errors, self.ctx)
        lid = _label(item, errors, self.ctx.top)
        attrs = _attributes(item, self.ctx.top[lid][1], errors) if lid else []
        if errors:
            raise _ItemError(errors)
        ltype, attr_ids, subs = self.ctx.top[lid]
        tid = self._id(item, "track")
        shapes = self._tracked_shapes(item, attr_ids)
        elements = item.get("elements", []) or []
        if ltype == "skeleton":
            if any(s["type"] != "skeleton" for s in shapes):
                raise _ItemError({"shapes": ["A skeleton track has 'skeleton' shapes"]})
            for s in shapes:
                s["points"] = []
            elements = self._elements(
                elements, subs, frame,
                lambda el, sub_lid, sub_attrs, f: self._element_track(
                    el, sub_lid, sub_attrs), require_all=False)
        elif elements:
            raise _ItemError({"elements": ["Only skeleton tracks can have elements"]})
        track = {"attributes": attrs,
                 "elements": _order_elements(elements, tid or 0) if ltype == "skeleton" else []}
        track.update(frame=frame, group=group, id=tid, label_id=lid,
                     shapes=shapes, source=source)
        return track

    def _element_track(self, el, lid, attr_ids):
        errors = {}
        frame, source, group = _common(el, errors, self.ctx)
        attrs = _attributes(el, attr_ids, errors)
        if errors:
            raise _ItemError(errors)
        # an element's sub-track may be empty: CVAT serves such pieces itself
        shapes = self._tracked_shapes(el, attr_ids, allow_empty=True)
        if any(s["type"] != "points" or len(s["points"]) != 2 for s in shapes):
            raise _ItemError({"shapes": ["Element keyframes are 'points' shapes with two coordinates"]})
        return {"attributes": attrs, "frame": frame, "group": group,
                "id": self._id(el, "track"), "label_id": lid,
                "shapes": shapes, "source": source}

    def _tracked_shapes(self, item, attr_ids, allow_empty=False):
        shapes = item.get("shapes")
        if not isinstance(shapes, list) or not (shapes or allow_empty):
            raise _ItemError({"shapes": ["This field is required." if shapes is None else "A track needs at least one shape"]})
        out = []
        for i, s in enumerate(shapes):
            errors = {}
            if not isinstance(s, dict):
                errors["non_field_errors"] = ["Invalid data. Expected a dictionary."]
            else:
                frame, _, _ = _common(s, errors, self.ctx)
                geom = _geometry(s, errors, self.ctx)
                attrs = _attributes(s, attr_ids, errors)
            if errors:
                body = [{} for _ in shapes]
                body[i] = errors
                raise _ItemError({"shapes": body})
            rec = {"attributes": attrs, "frame": frame,
                   "id": self._id(s, "tracked_shape")}
            rec.update(geom)
            out.append(_sorted(rec))
        return out


def _sorted(d):
    return {k: d[k] for k in sorted(d)}


def normalize(state, ctx, payload, ids="new", partial=False):
    """(tags, shapes, tracks) stored records for a request body."""
    if not isinstance(payload, dict):
        raise AnnotationError({"non_field_errors": ["Invalid data. Expected a dictionary, but got %s." % type(payload).__name__]})
    if "version" in payload:
        errors = {}
        _int(payload["version"], "version", errors)
        if errors:
            raise AnnotationError(errors)
    n = Normalizer(state, ctx, ids, partial)
    return (n.collection(payload, "tags"), n.collection(payload, "shapes"),
            n.collection(payload, "tracks"))
