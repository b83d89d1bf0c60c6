"""The define form's text editor, for big skeletons (whole-body, 133 nodes):
labels one per line, edges one per line as ``from -> to`` under ``[group
name]`` lines. Two text boxes instead of one input per label and two
dropdowns of every label per edge keep the App's form interactive."""
from posekit import skeleton as pk

COMPACT_AT = 40  # start skeletons with more labels open in the text editor
ARROW = "->"


def labels_text(labels):
    return "\n".join(labels)


def edges_text(groups):
    """``groups`` as ``{"name", "edges": [{"from", "to"}]}`` dicts -> text."""
    lines = []
    for g in groups:
        lines.append(f"[{g['name']}]")
        lines += [f"{e.get('from')} {ARROW} {e.get('to')}" for e in g["edges"]]
    return "\n".join(lines)


def parse_labels(text):
    return [line.strip() for line in str(text or "").splitlines() if line.strip()]


def parse_edges(text):
    """``(groups, problems)``: groups as dicts, problems for bad lines."""
    groups, problems = [], []
    for n, raw in enumerate(str(text or "").splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            groups.append({"name": line[1:-1].strip(), "edges": []})
            continue
        a, arrow, b = line.partition(ARROW)
        if not arrow or not a.strip() or not b.strip():
            problems.append(pk.Problem(
                "edge_groups", "bad_line",
                f"Edges line {n}: write 'from {ARROW} to' or '[group name]'"))
            continue
        if not groups:
            groups.append({"name": "edges", "edges": []})
        groups[-1]["edges"].append({"from": a.strip(), "to": b.strip()})
    return groups, problems
