"""Field validators of annotation payloads (``LabeledDataRequest``): each
adds DRF-shaped messages to an ``errors`` dict and returns the clean value."""
import math

SHAPE_TYPES = {
    "rectangle", "polygon", "polyline", "points", "ellipse", "cuboid", "mask",
    "skeleton",
}
SOURCES = {"manual", "semi-auto", "auto", "file", "consensus"}
_NUMBER = (int, float)

def _int(value, field, errors, minimum=None):
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        errors[field] = ["A valid integer is required."]
        return None
    try:
        ivalue = int(value)
        if isinstance(value, float) and value != ivalue:
            raise ValueError
    except ValueError:
        errors[field] = ["A valid integer is required."]
        return None
    if minimum is not None and ivalue < minimum:
        errors[field] = [f"Ensure this value is greater than or equal to {minimum}."]
        return None
    return ivalue


def _bool(item, field, errors, default=False):
    value = item.get(field, default)
    if not isinstance(value, bool):
        errors[field] = ["Must be a valid boolean."]
    return value


def _points(item, errors):
    pts = item.get("points", [])
    if not isinstance(pts, list):
        errors["points"] = ['Expected a list of items but got type "%s".' % type(pts).__name__]
        return []
    try:
        out = [float(p) for p in pts]
    except (TypeError, ValueError):
        out = None
    if out is None or any(isinstance(p, bool) for p in pts) or not all(map(math.isfinite, out)):
        errors["points"] = {
            str(i): ["A valid number is required."]
            for i, p in enumerate(pts)
            if isinstance(p, bool) or not _finite(p)
        }
        return []
    return out


def _finite(p):
    try:
        return math.isfinite(float(p))
    except (TypeError, ValueError):
        return False


def _attributes(item, allowed, errors):
    attrs = item.get("attributes", [])
    if not isinstance(attrs, list):
        errors["attributes"] = ['Expected a list of items but got type "%s".' % type(attrs).__name__]
        return []
    out = []
    for a in attrs:
        if not isinstance(a, dict) or "spec_id" not in a or "value" not in a:
            errors["attributes"] = [{"spec_id": ["This field is required."], "value": ["This field is required."]}]
            return []
        e = {}
        spec_id = _int(a["spec_id"], "spec_id", e)
        if not isinstance(a["value"], str):
            e["value"] = ["Not a valid string."]
        if e:
            errors["attributes"] = [e]
            return []
        if spec_id not in allowed:
            errors["attributes"] = [{"spec_id": [f"Attribute spec {spec_id} does not belong to label {item.get('label_id')}"]}]
            return []
        out.append({"spec_id": spec_id, "value": a["value"]})
    return out


def _common(item, errors, ctx, frame_required=True):
    frame = _int(item.get("frame"), "frame", errors, 0) if "frame" in item else None
    if frame is None and "frame" not in item and frame_required:
        errors["frame"] = ["This field is required."]
    elif frame is not None and not ctx.start <= frame <= ctx.stop:
        errors["frame"] = [
            f"The frame #{frame} is out of the range [{ctx.start}, {ctx.stop}]"
        ]
    source = item.get("source", "manual")
    if source not in SOURCES:
        errors["source"] = ['"%s" is not a valid choice.' % source]
    group = item.get("group", 0)
    if group is None:
        group = 0
    else:
        group = _int(group, "group", errors, 0)
    return frame, source, group


def _label(item, errors, allowed):
    if "label_id" not in item:
        errors["label_id"] = ["This field is required."]
        return None
    lid = _int(item["label_id"], "label_id", errors)
    if lid is not None and lid not in allowed:
        errors["label_id"] = [f"Label #{lid} does not exist in this task"]
        return None
    return lid


def _geometry(item, errors, ctx):
    stype = item.get("type")
    if stype is None:
        errors["type"] = ["This field is required."]
    elif stype not in SHAPE_TYPES:
        errors["type"] = ['"%s" is not a valid choice.' % stype]
    rotation = item.get("rotation", 0.0)
    if isinstance(rotation, bool) or not _finite(rotation) or not 0 <= float(rotation) <= 360:
        errors["rotation"] = ["Ensure this value is between 0 and 360."]
        rotation = 0.0
    z_order = _int(item.get("z_order", 0), "z_order", errors)
    return {
        "occluded": _bool(item, "occluded", errors),
        "outside": _bool(item, "outside", errors),
        "points": _points(item, errors),
        "rotation": float(rotation),
        "type": stype,
        "z_order": z_order,
    }


def _score(item, errors, ctx):
    """2.73's ``score``: a number in [0, 1], default 1, kept as sent (a write
    echoes it so; GETs serve it as a float, see ``as_served``); None on
    2.23.1, which ignores the field."""
    if not ctx.scores:
        return None
    value = item.get("score", 1)
    if value is None:
        errors["score"] = ["This field may not be null."]
    elif isinstance(value, bool) or not _finite(value):
        errors["score"] = ["A valid number is required."]
    elif float(value) > 1:
        errors["score"] = ["Ensure this value is less than or equal to 1."]
    elif float(value) < 0:
        errors["score"] = ["Ensure this value is greater than or equal to 0."]
    else:
        return value
    return None
