"""Issue 11, the App-facing items: COCO files only where the user chose them
(3), risk levels (3), user text shown as text in Markdown (4), forms that
mark their problems invalid (10), the operator browser search (14)."""
import json
import os

import pytest

from annotation_flow import FIELD, form, run, set_credentials, tag_two
from conftest import uri
from posekit.markdown import md_escape

COCO_CAT = {"id": 1, "name": "person", "keypoints": ["a", "b", "c"], "skeleton": [[1, 2], [2, 3]]}


def props(name, dataset, params=None, **kwargs):
    """The form's properties by name (nested objects flattened)."""
    out = {}

    def walk(obj):
        for key, prop in (obj.get("properties") or {}).items():
            out[key] = prop
            if prop.get("type", {}).get("properties"):
                walk(prop["type"])

    walk(form(name, dataset, params=params, **kwargs)["type"])
    return out


def invalid(p):
    return bool(p.get("invalid"))


@pytest.fixture
def skel_dataset(dataset):
    run("define_skeleton", dataset, {"start": "template", "template": "hand21"})
    dataset.reload()
    return dataset


# --- 3: export only into the chosen folder ------------------------------------


@pytest.mark.parametrize("filename", [
    "../outside.json", "sub/../../outside.json", "/tmp/outside.json",
    ".bashrc", "notes.txt", "..",
])
def test_export_cannot_leave_the_chosen_folder(skel_dataset, tmp_path, filename):
    folder = tmp_path / "chosen"
    folder.mkdir()
    decoy = tmp_path / "outside.json"
    decoy.write_text("decoy")
    params = {"folder": str(folder), "filename": filename, "overwrite": True}
    fields = props("export_coco_skeleton", skel_dataset, params)
    assert invalid(fields["filename"]), fields["filename"]
    result = run("export_coco_skeleton", skel_dataset, params)
    assert result.error, "an export out of the folder ran"
    assert decoy.read_text() == "decoy"
    assert sorted(os.listdir(folder)) == [] and sorted(os.listdir(tmp_path)) == ["chosen", "outside.json"]


def test_export_creates_no_folder_and_refuses_relative_ones(skel_dataset, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for folder in (str(tmp_path / "new" / "dir"), "relative", "~"):
        result = run("export_coco_skeleton", skel_dataset, {"folder": folder, "filename": "s.json"})
        assert result.error, folder
    assert os.listdir(tmp_path) == []


def test_export_through_a_link_out_of_the_folder_is_refused(skel_dataset, tmp_path):
    folder = tmp_path / "chosen"
    folder.mkdir()
    target = tmp_path / "victim.json"
    target.write_text("keep")
    os.symlink(target, folder / "link.json")
    result = run("export_coco_skeleton", skel_dataset,
                 {"folder": str(folder), "filename": "link.json", "overwrite": True})
    assert result.error and "link" in result.error
    assert target.read_text() == "keep"


def test_overwrite_is_confirmed_inside_the_form(skel_dataset, tmp_path):
    existing = tmp_path / "hand.json"
    existing.write_text("old")
    folder = {"absolute_path": str(tmp_path), "name": tmp_path.name, "type": "directory"}
    params = {"folder": folder, "filename": "hand.json"}
    fields = props("export_coco_skeleton", skel_dataset, params)
    assert "Overwrite" in fields["overwrite"]["view"]["label"]
    assert invalid(fields["filename"]) and "exists" in fields["filename"]["error_message"]
    assert run("export_coco_skeleton", skel_dataset, params).error
    assert existing.read_text() == "old"

    params["overwrite"] = True
    fields = props("export_coco_skeleton", skel_dataset, params)
    assert not invalid(fields["filename"])
    result = run("export_coco_skeleton", skel_dataset, params)
    assert result.error is None, result.error
    assert result.result["path"] == str(existing)
    assert len(json.loads(existing.read_text())["categories"][0]["keypoints"]) == 21


def test_a_folder_typed_into_the_box_is_not_probed(skel_dataset, tmp_path):
    """Typing a path is no existence oracle: the form answers the same for a
    folder holding the file and for one that does not exist."""
    (tmp_path / "hand.json").write_text("old")
    answers = []
    for path in (str(tmp_path), str(tmp_path / "missing")):
        typed = {"absolute_path": path, "exists": False, "type": "directory"}
        fields = props("export_coco_skeleton", skel_dataset, {"folder": typed, "filename": "hand.json"})
        assert "overwrite" not in fields
        assert invalid(fields["folder"])
        answers.append(fields["folder"]["error_message"])
    assert answers[0] == answers[1] and "file explorer" in answers[0]


# --- 3: import reads a .json only once it is picked ----------------------------


def test_import_reads_nothing_until_a_file_is_picked(dataset, tmp_path, monkeypatch):
    from posekit import coco

    src = tmp_path / "cats.json"
    src.write_text(json.dumps({"categories": [COCO_CAT]}))
    reads = []
    real = coco.read_json
    monkeypatch.setattr(coco, "read_json", lambda *a, **k: reads.append(a) or real(*a, **k))

    answers = []
    for path in (str(src), str(tmp_path / "missing.json")):
        typed = {"absolute_path": path, "exists": False, "type": "file"}
        fields = props("import_coco_skeleton", dataset, {"source": "file", "path": typed})
        answers.append(fields["summary"]["default"])
    assert reads == [] and answers[0] == answers[1]

    picked = {"absolute_path": str(src), "name": "cats.json", "type": "file", "size": 1}
    for _ in range(3):  # each edit of the form re-resolves it
        fields = props("import_coco_skeleton", dataset, {"source": "file", "path": picked})
    assert "3 nodes" in fields["summary"]["default"]
    assert len(reads) == 1


def test_import_takes_json_files_only(dataset, tmp_path):
    secret = tmp_path / "id_rsa"
    secret.write_text('{"categories": []}')
    picked = {"absolute_path": str(secret), "name": "id_rsa", "type": "file"}
    fields = props("import_coco_skeleton", dataset, {"source": "file", "path": picked})
    assert invalid(fields["path"]) and ".json" in fields["path"]["error_message"]
    assert run("import_coco_skeleton", dataset, {"source": "file", "path": str(secret)}).error


# --- 3: risk levels --------------------------------------------------------------

RISK = {
    "list_skeletons": "low", "list_annotation_runs": "low", "open_annotation_run": "low",
    "open_skeleton_preview": "low",
    "define_skeleton": "medium", "import_coco_skeleton": "medium",
    "tag_for_annotation": "medium", "untag_for_annotation": "medium",
    "request_skeleton_annotation": "medium", "load_skeleton_annotation": "medium",
    "rename_annotation_run": "medium",
    "delete_skeleton": "high", "delete_annotation_run": "high", "export_coco_skeleton": "high",
}


def test_every_operator_declares_its_risk_level():
    from fiftyone.operators.registry import OperatorRegistry

    ours = [o for o in OperatorRegistry().list_operators(type="operator")
            if o.uri.startswith(uri(""))]
    declared = {o.name: o.config.to_json()["risk_level"] for o in ours}
    assert {k: declared.get(k) for k in RISK} == RISK
    # the operators added since declare one too (FiftyOne's default is DANGEROUS)
    assert all(declared[k] in ("low", "medium", "high") for k in declared), declared


# --- 4: user text stays text in every Markdown view ------------------------------

EVIL = "![x](http://evil.test/x.png)"
PIPE = "left|right `tick`"


def test_labels_and_group_names_are_escaped_in_the_define_form(dataset):
    labels = [EVIL, PIPE, "<img src=x>"]
    groups = [{"name": f"**{EVIL}**", "edges": [{"from": EVIL, "to": PIPE}]}]
    fields = props("define_skeleton", dataset, {"labels": labels, "edge_groups": groups})
    summary = fields["summary"]["default"]
    assert "![" not in summary and "<img" not in summary and "`" not in summary.replace("\\`", "")
    assert md_escape(f"**{EVIL}**") in summary and md_escape("<img src=x>") in summary


def test_problem_messages_are_escaped_in_the_define_form(dataset):
    labels = [EVIL, EVIL]  # a duplicate: the problem names the label
    fields = props("define_skeleton", dataset, {"labels": labels, "edge_groups": []})
    text = fields["problems"]["view"]["description"]
    assert "duplicates" in text and "![" not in text and md_escape(EVIL) in text


def test_list_skeletons_table_keeps_its_columns(dataset):
    run("define_skeleton", dataset, {
        "labels": ["a", "b"], "edge_groups": [{"name": PIPE, "edges": [{"from": "a", "to": "b"}]},
                                               {"name": EVIL, "edges": []}]})
    table = run("list_skeletons", dataset).result["table"]
    row = table.splitlines()[2]
    # one row of four cells: the pipe in the group name is escaped
    assert row.replace("\\|", "").count("|") == 5
    assert "![" not in row and md_escape(PIPE) in row


def test_request_form_shows_skeleton_labels_as_text(dataset, cvat_server, monkeypatch):
    import fiftyone as fo

    set_credentials(monkeypatch, cvat_server)
    dataset.add_sample(fo.Sample(filepath="/tmp/x.jpg", tags=["annotate"]))
    dataset.default_skeleton = fo.KeypointSkeleton(labels=[EVIL, "b"], edges=[[0, 1]])
    dataset.save()
    fields = props("request_skeleton_annotation", dataset,
                   {"target": "TAGGED", "tag": "annotate", "label_field": "kp"})
    label = fields["skeleton"]["view"]["label"]
    assert md_escape(EVIL) in label and "![" not in label


# --- 10: forms mark their problems invalid ---------------------------------------


def test_run_forms_without_runs_are_invalid(dataset):
    for name in ("load_skeleton_annotation", "open_annotation_run",
                 "delete_annotation_run", "rename_annotation_run"):
        fields = props(name, dataset)
        assert invalid(fields["no_runs"]), name
        result = run(name, dataset, {"new_anno_key": "x"})
        assert result.error and "KeyError" not in result.error, (name, result.error)


def test_request_form_problems_are_invalid(demo_dataset, cvat_server, monkeypatch):
    ds = demo_dataset
    for var in ("FIFTYONE_CVAT_URL", "FIFTYONE_CVAT_USERNAME", "FIFTYONE_CVAT_PASSWORD",
                "FIFTYONE_CVAT_EMAIL"):
        monkeypatch.delenv(var, raising=False)
    base = {"target": "TAGGED", "tag": "annotate", "anno_key": "k", "label_field": FIELD}
    assert invalid(props("request_skeleton_annotation", ds, base)["credentials_missing"])

    set_credentials(monkeypatch, cvat_server)
    fields = props("request_skeleton_annotation", ds, base)  # nothing tagged yet
    assert invalid(fields["count"]) and "No samples" in fields["count"]["view"]["label"]
    assert run("request_skeleton_annotation", ds, base).error

    tag_two(ds)
    assert not any(invalid(p) for p in props("request_skeleton_annotation", ds, base).values())
    fields = props("request_skeleton_annotation", ds, dict(base, tag="   "))
    assert invalid(fields["tag"])
    for size in (0, -3, 10**30):
        fields = props("request_skeleton_annotation", ds, dict(base, task_size=size, segment_size=size))
        assert invalid(fields["task_size"]) and invalid(fields["segment_size"]), size
        result = run("request_skeleton_annotation", ds, dict(base, task_size=size))
        assert result.error and "OverflowError" not in result.error, result.error
    assert cvat_server.calls == [] or all(c[0] == "GET" for c in cvat_server.calls)


def test_request_form_with_a_skeleton_of_no_labels_is_invalid(demo_dataset, cvat_server, monkeypatch):
    import fiftyone as fo

    set_credentials(monkeypatch, cvat_server)
    tag_two(demo_dataset)
    demo_dataset.skeletons = {FIELD: fo.KeypointSkeleton(labels=[], edges=[])}
    demo_dataset.save()
    fields = props("request_skeleton_annotation", demo_dataset,
                   {"target": "TAGGED", "tag": "annotate", "anno_key": "k", "label_field": FIELD})
    assert invalid(fields["label_field"]) and "no node names" in fields["label_field"]["error_message"]


def test_tag_form_with_a_blank_tag_is_invalid(dataset):
    fields = props("tag_for_annotation", dataset, {"tag": "  "})
    assert invalid(fields["tag"])


def test_run_picker_defaults_to_the_newest_run(dataset, monkeypatch):
    from posekit.cvat import runs
    from posekit.cvat.backend import BACKEND_NAME

    found = [
        {"anno_key": "zeta", "backend": BACKEND_NAME, "timestamp": "2026-01-01 10:00:00"},
        {"anno_key": "alpha", "backend": BACKEND_NAME, "timestamp": "2026-03-01 10:00:00"},
        {"anno_key": "mid", "backend": BACKEND_NAME, "timestamp": "2026-02-01 10:00:00"},
    ]
    monkeypatch.setattr(runs, "list_runs", lambda ds: [dict(r) for r in found])
    fields = props("load_skeleton_annotation", dataset)
    assert fields["anno_key"]["default"] == "alpha"
    assert fields["anno_key"]["type"]["values"] == ["alpha", "mid", "zeta"]


# --- 14: the operator browser finds the words users type ------------------------


def _browser_choices(query, ours_only=False):
    """The operator browser's list for ``query``, ranked as FiftyOne 1.22.1's
    App does (``operatorBrowserChoices``): label, URI or description
    containing the query; sorted by the first character of the description
    (else label), ties in the server's order; no recently used operators."""
    from fiftyone.operators.registry import OperatorRegistry

    ops = [o for o in OperatorRegistry().list_operators(type="operator")
           if not o.config.unlisted and (not ours_only or o.uri.startswith(uri("")))]
    q = query.strip().lower()
    hits = [o for o in ops if q in (o.config.label or "").lower()
            or q in o.uri.lower() or q in (o.config.description or "").lower()]
    return [o.name for o in sorted(hits, key=lambda o: ord((o.config.description or o.config.label)[0]))]


def test_operator_browser_finds_request_and_load_by_annotate():
    found = _browser_choices("annotate")
    assert found[:2] == ["request_skeleton_annotation", "load_skeleton_annotation"]


@pytest.mark.parametrize("word", ["CVAT", "keypoints", "pose", "skeleton"])
def test_operator_browser_lists_the_most_used_first(word):
    found = _browser_choices(word, ours_only=True)
    assert found[0] == "request_skeleton_annotation", found
    if word in ("keypoints", "pose", "skeleton"):
        assert found[:3] == ["request_skeleton_annotation", "load_skeleton_annotation",
                             "define_skeleton"], found
