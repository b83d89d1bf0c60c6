"""Default 2-D layouts of skeletons, for previews and CVAT's skeleton SVG.

Coordinates are ``[x, y]`` in a 0..100 box, x to the right and y downwards.
"""
from collections import deque

from posekit.templates import find_template

_MARGIN = 8.0


def default_layout(labels, edges_polylines):
    """A ``[x, y]`` position per label in a 0..100 box.

    The template's layout when ``labels`` are exactly a template's labels;
    otherwise a deterministic layered layout of the graph: each connected
    component is laid out breadth-first from its first node (one row per
    depth), components side by side, nodes with no edge in a bottom row.

    Args:
        labels: the ordered keypoint labels
        edges_polylines: ``fo.KeypointSkeleton.edges``-style polylines of
            indices
    """
    labels = list(labels or [])
    n = len(labels)
    if n == 0:
        return []
    template = find_template(labels)
    if template is not None:
        return [list(p) for p in template.layout]
    return _layered(n, edges_polylines or [])


def _layered(n, polylines):
    adj = [[] for _ in range(n)]
    for line in polylines:
        for a, b in zip(line, line[1:]):
            if 0 <= a < n and 0 <= b < n and a != b:
                adj[a].append(b)
                adj[b].append(a)
    for nbrs in adj:
        nbrs.sort()

    depth = [-1] * n
    components, isolated = [], []
    for start in range(n):
        if depth[start] >= 0:
            continue
        if not adj[start]:
            depth[start] = 0
            isolated.append(start)
            continue
        rows = []
        depth[start] = 0
        queue = deque([start])
        while queue:
            v = queue.popleft()
            if depth[v] == len(rows):
                rows.append([])
            rows[depth[v]].append(v)
            for w in adj[v]:
                if depth[w] < 0:
                    depth[w] = depth[v] + 1
                    queue.append(w)
        components.append(rows)

    n_rows = max([len(rows) for rows in components], default=0)
    n_rows += 1 if isolated else 0
    span = 100.0 - 2 * _MARGIN

    def row_y(r):
        return _MARGIN + (span * r / (n_rows - 1) if n_rows > 1 else span / 2)

    out = [None] * n
    widths = [max(len(r) for r in rows) for rows in components]
    total = sum(widths) or 1
    x0 = _MARGIN
    for rows, w in zip(components, widths):
        band = span * w / total
        for r, row in enumerate(rows):
            for k, v in enumerate(row):
                x = x0 + band * (k + 0.5) / len(row)
                out[v] = [round(x, 2), round(row_y(r), 2)]
        x0 += band
    for k, v in enumerate(isolated):
        x = _MARGIN + span * (k + 0.5) / len(isolated)
        out[v] = [round(x, 2), round(row_y(n_rows - 1), 2)]
    return out
