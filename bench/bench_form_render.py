"""What the App re-renders at each edit of the define form, 133 keypoints:
the dropdown editor (one input per label, two dropdowns of every label per
edge) against the text editor (two text boxes), which the form opens for
start skeletons above 40 labels. Prints, per editor: resolve_input median,
the form's JSON size, its number of inputs and dropdown options, and the
drawing's data URI size. The browser timing of one edit is printed by
``tests/browser/test_hardening.py::test_define_form_edit_of_133_nodes``.

    .venv/bin/python bench/bench_form_render.py [--runs 30]
"""
import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _env import isolated_fiftyone  # noqa: E402
from bench_form import N_KEYPOINTS, wholebody_like  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    with isolated_fiftyone():
        import fiftyone as fo
        from fiftyone.operators.executor import ExecutionContext
        from fiftyone.operators.registry import OperatorRegistry

        from posekit import skeleton as pk
        from posekit.skeleton_store import save_skeleton

        labels, groups = wholebody_like()
        ds = fo.Dataset("bench-form-render")
        sk = pk.Skeleton(labels, [pk.EdgeGroup(g["name"], [(e["from"], e["to"]) for e in g["edges"]])
                                  for g in groups])
        save_skeleton(ds, sk)
        op = OperatorRegistry().get_operator("@posekit/skeletons/define_skeleton")
        n_edges = len(sk.edges)
        print(f"define_skeleton form, {N_KEYPOINTS} keypoints, {n_edges} edges, {args.runs} edits each")
        for as_text in (False, True):
            key = "draft_current" + ("_text" if as_text else "")
            times, size = [], None
            for run in range(args.runs):
                edited = labels[:-1] + [f"{labels[-1]}_{run}"]
                draft = ({"labels_text": "\n".join(edited)} if as_text
                         else {"labels": edited, "edge_groups": groups})
                params = {"start": "current", "as_text": as_text, key: draft}
                ctx = ExecutionContext(request_params={"dataset_name": ds.name, "params": params})
                ctx.dataset
                t0 = time.perf_counter()
                form = op.resolve_input(ctx).to_json()
                times.append(time.perf_counter() - t0)
                size = len(json.dumps(form))
            uri = form["type"]["properties"]["preview"]["default"]
            if as_text:
                rendered, options = 2, 0  # two text boxes
            else:  # list items: one box per label, a name and two dropdowns per edge
                rendered = N_KEYPOINTS + len(groups) + 2 * n_edges
                options = 2 * n_edges * N_KEYPOINTS
            print(f"  {'text editor    ' if as_text else 'dropdown editor'}: resolve_input "
                  f"median {statistics.median(times) * 1000:6.1f} ms; form JSON "
                  f"{size / 1024:6.1f} KiB; the App renders {rendered} editor inputs, "
                  f"{options} dropdown options; drawing (SVG data URI) {len(uri) / 1024:.1f} KiB")
        ds.delete()


if __name__ == "__main__":
    main()
