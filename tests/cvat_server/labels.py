"""Label creation and editing as CVAT 2.23.1 does it, including skeletons.

A skeleton label arrives with ``sublabels`` (``points`` labels) and an ``svg``
whose circles name their sublabel by ``data-label-name``; the server assigns
sublabel ids and rewrites those attributes to ``data-label-id``. A top-level
label record carries exactly one of ``task_id`` / ``project_id``.

As in CVAT (Django REST ``CharField``), names are trimmed before they are
stored, and the SVG rewrite is a literal replacement of
``data-label-name="<stored name>"`` (``serializers.py``, ``create_labels``):
an escaped (``&amp;``) or untrimmed name in the SVG stays unrewritten.
"""
import random
import re

LABEL_TYPES = {
    "any", "cuboid", "ellipse", "mask", "points", "polygon", "polyline",
    "rectangle", "skeleton", "tag",
}
INPUT_TYPES = {"checkbox", "radio", "number", "text", "select"}
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


class LabelError(Exception):
    """A 400 with a CVAT-shaped (field-keyed) body."""

    def __init__(self, body):
        super().__init__(body)
        self.body = body


def _color(rng):
    return "#%06x" % rng.randrange(0x1000000)


def _check_attributes(attrs, where):
    if not isinstance(attrs, list):
        raise LabelError({where: [{"attributes": ['Expected a list of items but got type "%s".' % type(attrs).__name__]}]})
    for a in attrs:
        errors = {}
        if not isinstance(a, dict):
            raise LabelError({where: [{"attributes": ["Invalid data. Expected a dictionary."]}]})
        for field in ("name", "mutable", "input_type", "values"):
            if field not in a:
                errors[field] = ["This field is required."]
        if "input_type" in a and a["input_type"] not in INPUT_TYPES:
            errors["input_type"] = ['"%s" is not a valid choice.' % a["input_type"]]
        if "values" in a and not isinstance(a["values"], list):
            errors["values"] = ['Expected a list of items but got type "%s".' % type(a["values"]).__name__]
        if "mutable" in a and not isinstance(a["mutable"], bool):
            errors["mutable"] = ["Must be a valid boolean."]
        if errors:
            raise LabelError({where: [{"attributes": [errors]}]})


def validate_label_spec(spec, existing_names):
    """Raise LabelError unless ``spec`` is a label CVAT would create."""
    if not isinstance(spec, dict):
        raise LabelError({"labels": ["Invalid data. Expected a dictionary."]})
    errors = {}
    name = _trim(spec.get("name"))
    if not isinstance(name, str) or not name or len(name) > 64:
        errors["name"] = ["This field is required."] if name is None else [
            "Ensure this field has no more than 64 characters and is not blank."]
    elif name in existing_names:
        errors["name"] = [f"Label '{name}' already exists"]
    ltype = spec.get("type", "any")
    if ltype not in LABEL_TYPES:
        errors["type"] = ['"%s" is not a valid choice.' % ltype]
    color = spec.get("color")
    if color not in (None, "") and not (isinstance(color, str) and _COLOR.match(color)):
        errors["color"] = ["Invalid color"]
    if errors:
        raise LabelError({"labels": [errors]})
    _check_attributes(spec.get("attributes", []), "labels")
    subs = spec.get("sublabels", [])
    if ltype == "skeleton":
        if not isinstance(subs, list) or not subs:
            raise LabelError({"labels": [{"sublabels": ["Skeleton must have at least one sublabel"]}]})
        if not isinstance(spec.get("svg"), str) or not spec["svg"].strip():
            raise LabelError({"labels": [{"svg": ["Skeleton must have an svg"]}]})
        names = set()
        for sub in subs:
            if not isinstance(sub, dict) or not isinstance(sub.get("name"), str) or not _trim(sub["name"]):
                raise LabelError({"labels": [{"sublabels": [{"name": ["This field is required."]}]}]})
            if _trim(sub["name"]) in names:
                raise LabelError({"labels": [{"sublabels": [f"Sublabel '{_trim(sub['name'])}' already exists"]}]})
            names.add(_trim(sub["name"]))
            if sub.get("type", "points") != "points":
                raise LabelError({"labels": [{"sublabels": [{"type": ["Skeleton elements must be of type 'points'"]}]}]})
            _check_attributes(sub.get("attributes", []), "labels")
    elif subs:
        raise LabelError({"labels": [{"sublabels": ["Only skeleton labels can have sublabels"]}]})


def _trim(name):
    return name.strip() if isinstance(name, str) else name


def create_label(state, spec, owner_key, owner_id, rng=None):
    """Store a validated label spec; returns the top-level label record."""
    rng = rng or random.Random(owner_id * 7919 + len(state.labels))
    lid = state.next_id("label")
    label = {
        "attributes": [_attribute(state, a) for a in spec.get("attributes", [])],
        "color": spec.get("color") or _color(rng),
        "has_parent": False,
        "id": lid,
        "name": _trim(spec["name"]),
        "parent_id": None,
        owner_key: owner_id,
        "sublabels": [],
        "type": spec.get("type", "any"),
    }
    if label["type"] == "skeleton":
        svg = spec["svg"]
        for sub in spec["sublabels"]:
            sid = state.next_id("label")
            sublabel = {
                "attributes": [_attribute(state, a) for a in sub.get("attributes", [])],
                "color": sub.get("color") or _color(rng),
                "has_parent": True,
                "id": sid,
                "name": _trim(sub["name"]),
                "type": "points",
            }
            label["sublabels"].append(sublabel)
            state.labels[sid] = {"json": sublabel, "parent_id": lid}
            svg = svg.replace(
                'data-label-name="%s"' % sublabel["name"], 'data-label-id="%d"' % sid
            )
        label["svg"] = svg
    state.labels[lid] = {"json": label, "parent_id": None}
    return state.labels[lid]


def _attribute(state, spec):
    values = [str(v) for v in spec.get("values", [])]
    default = spec.get("default_value")
    if default is None:
        if spec["input_type"] == "checkbox":
            default = values[0] if values else "false"
        elif spec["input_type"] == "number" and len(values) >= 1:
            default = values[0]
        else:
            default = values[0] if values else ""
    return {
        "default_value": str(default),
        "id": state.next_id("attribute"),
        "input_type": spec["input_type"],
        "mutable": spec["mutable"],
        "name": spec["name"],
        "values": values,
    }


def apply_label_changes(state, specs, owner_key, owner_id, label_ids):
    """CVAT's ``labels`` semantics in a project/task PATCH: entries with an
    ``id`` update (or, with ``deleted: true``, remove) that label; entries
    without one are created. Mutates ``label_ids`` (the owner's list)."""
    if not isinstance(specs, list):
        raise LabelError({"labels": ['Expected a list of items but got type "%s".' % type(specs).__name__]})
    names = {state.labels[i]["json"]["name"] for i in label_ids}
    for spec in specs:
        if isinstance(spec, dict) and spec.get("id") is not None:
            lid = spec["id"]
            if lid not in label_ids:
                raise LabelError({"labels": [{"id": [f"Label {lid} does not belong to this {owner_key[:-3]}"]}]})
            label = state.labels[lid]["json"]
            if spec.get("deleted"):
                label_ids.remove(lid)
                for sub in label["sublabels"]:
                    state.labels.pop(sub["id"], None)
                del state.labels[lid]
                names.discard(label["name"])
                continue
            _check_attributes(spec.get("attributes", []), "labels")
            label = dict(label)
            if spec.get("name") and spec["name"] != label["name"]:
                if spec["name"] in names:
                    raise LabelError({"labels": [{"name": [f"Label '{spec['name']}' already exists"]}]})
                names.discard(label["name"])
                names.add(_trim(spec["name"]))
                label["name"] = spec["name"]
            if spec.get("color"):
                label["color"] = spec["color"]
            attrs = list(label["attributes"])
            by_id = {a["id"]: i for i, a in enumerate(attrs)}
            for a in spec.get("attributes", []):
                if a.get("id") in by_id:
                    attrs[by_id[a["id"]]] = dict(_attribute(state, a), id=a["id"])
                else:
                    attrs.append(_attribute(state, a))
            label["attributes"] = attrs
            # like CVAT, later edits of a skeleton's nodes/svg are ignored
            state.labels[lid] = {"json": label, "parent_id": None}
        else:
            validate_label_spec(spec, names)
            label = create_label(state, spec, owner_key, owner_id)
            label_ids.append(label["json"]["id"])
            names.add(_trim(spec["name"]))
