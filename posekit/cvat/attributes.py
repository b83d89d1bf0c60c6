"""Label attributes <-> CVAT attribute specs and values, as FiftyOne's CVAT
backend writes and reads them (same strings, same parsing), so runs made by
posekit and by FiftyOne's stock backend read alike."""


def stringify_value(value):
    """An attribute value as CVAT stores it (``None`` -> ``""``, booleans as
    ``"true"``/``"false"``)."""
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def parse_value(value, attr_type=None):
    """A CVAT attribute value back as a Python value: ``text`` stays a string
    (``""`` is None), else int, float, bool or None when it reads as one."""
    if attr_type == "text":
        return None if value == "" else str(value)
    for cast in (int, float):
        try:
            return cast(value)
        except (TypeError, ValueError):
            pass
    if isinstance(value, str):
        if value in ("True", "true"):
            return True
        if value in ("False", "false"):
            return False
        if value in ("None", ""):
            return None
    return value


def shape_attributes(shape, label_spec):
    """``(label_id or None, {name: value})`` of a CVAT shape's attributes;
    ``label_spec`` maps spec ids to ``(name, input_type)``. ``label_id`` is
    the attribute posekit (like FiftyOne) uses to carry the FiftyOne label id."""
    label_id, attrs = None, {}
    for a in (shape or {}).get("attributes") or []:
        name, itype = label_spec.get(a.get("spec_id"), (None, None))
        if name == "label_id":
            label_id = a.get("value")
        elif name is not None:
            value = parse_value(a.get("value"), attr_type=itype)
            if itype == "checkbox" and isinstance(value, str):
                value = value.lower() == "true"
            attrs[name] = value
    return label_id, attrs


def to_cvat_attributes(attributes):
    """CVAT attribute specs for a FiftyOne label schema's ``attributes``.

    Returns ``(specs by name, occluded attribute name, group id attribute
    name)``: attributes of type ``"occluded"`` / ``"group_id"`` are CVAT's
    built-in shape flags, not specs.
    """
    specs, occluded_name, group_name = {}, None, None
    for name, info in attributes.items():
        if len(name) > 64:
            raise ValueError("Attribute name '%s' exceeds 64 character limit" % name)
        spec = {"name": name, "mutable": True}
        kind = info.get("type")
        if kind == "occluded":
            occluded_name = name
            continue
        if kind == "group_id":
            group_name = name
            continue
        if kind is not None:
            spec["input_type"] = kind
        if "values" in info:
            spec["values"] = [stringify_value(v) for v in info["values"]]
        if "default" in info:
            spec["default_value"] = stringify_value(info["default"])
        if "mutable" in info:
            spec["mutable"] = bool(info["mutable"])
        specs[name] = spec
    return specs, occluded_name, group_name
