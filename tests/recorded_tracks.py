"""The recorded CVAT video skeleton-track scenarios (``tests/recordings``) and
CVAT's own "CVAT for images 1.1" exports of them, parsed as the oracle."""
import json
import os
import xml.etree.ElementTree as ET

import numpy as np

RECORDINGS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "recordings")
VERSIONS = ("2.23.1", "2.73.0")
SCENARIOS = ("single_job", "variants", "multi_job", "multi_job_overlap0")
NODES = ("a", "b", "c", "d", "e")
STATES = {"": "task", " after round trip": "task_after_roundtrip",
          " after job-level PATCH create": "task_after_job_patch"}


def load(version, scenario):
    path = os.path.join(RECORDINGS, version, "video_skeleton_tracks_%s.json" % scenario)
    with open(path) as f:
        return json.load(f)


def task_info(rec):
    (info,) = rec["extra"]["tasks"].values()
    ids = info["label_ids"]
    return {
        "label_id": ids["skel"],
        "node_ids": [ids["skel." + n] for n in NODES],
        "jobs": info["jobs"],
    }


def job_bodies(rec, state=""):
    """``[(job, body)]`` of the job GETs of one state ("" = first load,
    " after round trip", " after job-level PATCH create")."""
    info = task_info(rec)
    out = []
    for job in info["jobs"]:
        if len(info["jobs"]) == 1:
            names = ("GET job annotations",)
        else:
            names = ("GET job %d annotations (frames %d-%d)%s"
                     % (job["id"], job["start_frame"], job["stop_frame"], state),)
        (call,) = [c for c in rec["calls"] if c["label"] in names]
        out.append((job, call["response"]["json"]))
    return out


def export_path(version, scenario, key):
    return os.path.join(
        RECORDINGS, version,
        "video_skeleton_tracks_%s.%s.cvat_images.xml" % (scenario, key),
    )


def job_export_keys(rec):
    """The export keys of the per-job image exports, by job id."""
    files = rec["extra"]["export_files"]
    return {int(k[3:].split("_")[0]): k for k in files if k.startswith("job") and "_f" in k}


def parse_images_export(path):
    """``{frame: [skeleton]}``, each skeleton a ``(points (N,2), outside (N,),
    occluded (N,))`` in node order; outside nodes keep the coordinates CVAT
    wrote, absent nodes (no sub-track) are NaN and outside."""
    root = ET.parse(path).getroot()
    out = {}
    for image in root.iter("image"):
        frame = int(image.get("name").rsplit("_", 1)[1])
        skels = []
        for sk in image.iter("skeleton"):
            pts = np.full((len(NODES), 2), np.nan)
            outside = np.ones(len(NODES), dtype=bool)
            occluded = np.zeros(len(NODES), dtype=bool)
            for p in sk.iter("points"):
                i = NODES.index(p.get("label"))
                outside[i] = p.get("outside") == "1"
                occluded[i] = p.get("occluded") == "1"
                pts[i] = [float(v) for v in p.get("points").split(",")]
            skels.append((pts, outside, occluded))
        if skels:
            out[frame] = skels
    return out


def canonical(skeleton, outside_coords=False):
    """A hashable, sortable form of a skeleton's state: positions to 0.01 px,
    outside and occluded flags; outside nodes' coordinates only if
    ``outside_coords``."""
    pts, outside, occluded = skeleton
    return tuple(
        (0, round(float(pts[i, 0]), 2), round(float(pts[i, 1]), 2), bool(occluded[i]))
        if outside[i] and outside_coords and not np.isnan(pts[i, 0])
        else (0, 0.0, 0.0, False) if outside[i]
        else (1, round(float(pts[i, 0]), 2), round(float(pts[i, 1]), 2), bool(occluded[i]))
        for i in range(len(outside))
    )


def same_skeleton(a, b, outside_coords=False, tol=0.01):
    """Whether two skeletons agree: flags exactly, positions to ``tol`` px
    (of outside nodes too if ``outside_coords``)."""
    pa, oa, ca = a
    pb, ob, cb = b
    if not (np.array_equal(oa, ob) and np.array_equal(ca, cb)):
        return False
    cmp = ~oa if not outside_coords else ~(np.isnan(pa[:, 0]) & np.isnan(pb[:, 0]))
    return bool(np.all(np.abs(pa[cmp] - pb[cmp]) <= tol + 1e-6))


def distinct(skeletons, outside_coords=False):
    out = []
    for s in skeletons:
        if not any(same_skeleton(s, t, outside_coords) for t in out):
            out.append(s)
    return out


def frame_mismatches(ours, oracle, outside_coords=False):
    """Frames where the skeletons differ (as multisets), ``{frame: (ours left
    over, oracle left over)}``."""
    bad = {}
    for f in sorted(set(ours) | set(oracle)):
        left = list(ours.get(f, []))
        missing = []
        for s in oracle.get(f, []):
            k = next((k for k, t in enumerate(left) if same_skeleton(t, s, outside_coords)), None)
            if k is None:
                missing.append(s)
            else:
                left.pop(k)
        if left or missing:
            bad[f] = (left, missing)
    return bad
