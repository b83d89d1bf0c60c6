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
