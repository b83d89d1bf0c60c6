"""posekit's one seam to FiftyOne's private names (``posekit/fo_compat.py``):
contract tests against the pinned FiftyOne (1.22.x), which fail loudly when a
release moves or changes one of them, and a check that nothing outside the
seam reaches for a private FiftyOne name."""
import inspect
import os
import re

import pytest

import fiftyone as fo
import fiftyone.utils.cvat as fouc

from posekit import fo_compat

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FO_DIR = os.path.dirname(fo.__file__)


def test_pinned_fiftyone():
    assert fo.__version__.startswith("1.22."), (
        "posekit/fo_compat.py is checked against FiftyOne 1.22; re-check every "
        "name there against FiftyOne %s" % fo.__version__
    )


# -- the seam's names exist and behave as posekit relies on -------------------


def test_private_dataset_is_a_second_unshared_instance(dataset):
    mine = fo_compat.private_dataset(dataset.name)
    assert mine is not dataset and mine is not fo.load_dataset(dataset.name)
    assert mine.name == dataset.name
    # a reload of the shared object does not drop a change made on ours
    mine.info["x"] = 1
    dataset.reload()
    mine.save()
    dataset.reload()
    assert dataset.info["x"] == 1


def test_forget_cached_runs_drops_cached_annotation_results(dataset):
    assert hasattr(dataset, "_annotation_cache")
    dataset._annotation_cache["k"] = object()
    fo_compat.forget_cached_runs(dataset)
    assert "k" not in dataset._annotation_cache
    # and it is where FiftyOne caches annotation results
    src = inspect.getsource(fo.core.annotation.AnnotationMethod._results_cache_field)
    assert "_annotation_cache" in src


def test_view_on_keeps_the_stages(dataset):
    dataset.add_samples([fo.Sample(filepath="/tmp/%d.jpg" % i, n=i) for i in range(5)])
    view = dataset.match(fo.ViewField("n") > 1).sort_by("n", reverse=True).limit(2)
    other = fo_compat.private_dataset(dataset.name)
    rebuilt = fo_compat.view_on(other, view)
    assert rebuilt.values("n") == view.values("n") == [4, 3]
    assert fo_compat.root_dataset(rebuilt) is other
    assert fo_compat.view_on(other, dataset).values("n") == list(range(5))


def test_raw_values_gives_database_dicts(dataset):
    dataset.add_sample(fo.Sample(filepath="/tmp/a.jpg", kp=fo.Keypoints(
        keypoints=[fo.Keypoint(label="a", points=[[0.1, 0.2]])])))
    (value,) = fo_compat.raw_values(dataset, "kp")
    assert isinstance(value, dict) and value["_cls"] == "Keypoints"
    assert value["keypoints"][0]["points"] == [[0.1, 0.2]]
    ids, values = fo_compat.raw_values(dataset, ["_id", "kp"])
    assert str(ids[0]) == dataset.first().id


def test_root_dataset_of_a_view(dataset):
    assert fo_compat.root_dataset(dataset.view()) is dataset
    assert fo_compat.root_dataset(dataset) is dataset


CVAT_HOOKS = {
    # FiftyOne's private CVAT client member -> the arguments posekit passes
    "_make_request": ["self", "request_method", "url", "print_error_info"],
    "_is_empty_project": ["self", "project_id"],
    "_get_task_labels": ["self", "task_id"],
    "_get_project_labels": ["self", "project_id"],
    "_get_job_ids": ["self", "task_id"],
    "_get_batch_size": ["self", "samples", "task_size"],
    "_build_frame_id_map": ["self", "samples"],
    "_parse_local_files": ["self", "paths"],
    "_get_value_update_map": ["self", "name", "id_map", "result_name", "search_url_fcn"],
    "_get_paginated_results": ["self", "base_url"],
    "_setup": ["self"],
    "_login": ["self", "username", "password", "email"],
    "_add_referer": ["self"],
    "_add_organization": ["self"],
}


@pytest.mark.parametrize("name", sorted(CVAT_HOOKS))
def test_cvat_client_private_members_posekit_uses(name):
    member = getattr(fouc.CVATAnnotationAPI, name, None)
    assert callable(member), "fiftyone.utils.cvat.CVATAnnotationAPI.%s is gone" % name
    params = list(inspect.signature(member).parameters)
    assert params[: len(CVAT_HOOKS[name])] == CVAT_HOOKS[name], (name, params)


def test_cvat_client_sends_every_request_through_make_request():
    """FiftyOne's get/post/put/patch/delete all go through ``_make_request``,
    which the seam turns into the public ``make_request`` hook."""
    for verb in ("get", "post", "put", "patch", "delete"):
        src = inspect.getsource(getattr(fouc.CVATAnnotationAPI, verb))
        assert "self._make_request(" in src, verb
    init = inspect.getsource(fouc.CVATAnnotationAPI.__init__)
    assert "self._url" in init and "_user_id_map" in init
    assert "self._session" in inspect.getsource(fouc.CVATAnnotationAPI._setup)
    # the seam's setup pieces set what FiftyOne's own setup sets
    setup = inspect.getsource(fouc.CVATAnnotationAPI._setup)
    for name in ("self._headers", "self._server_version", "self._login(",
                 "self._add_referer()", "self._add_organization()"):
        assert name in setup, name
    assert "self._organization" in inspect.getsource(fouc.CVATAnnotationAPI.__init__)


def test_cvat_results_constructor_takes_posekit_keywords():
    params = list(inspect.signature(fouc.CVATAnnotationResults.__init__).parameters)
    assert params == [
        "self", "samples", "config", "anno_key", "id_map", "server_id_map",
        "project_ids", "task_ids", "job_ids", "frame_id_map", "labels_task_map",
        "backend",
    ]


# -- nothing outside the seam uses a private FiftyOne name --------------------


# the parts of FiftyOne whose objects posekit handles (plots, brain, zoo and
# the server are not among them)
FO_PARTS = ("core", "utils/cvat.py", "utils/annotations.py", "operators")
FO_SKIPPED = ("core/plots", "core/session")


def _fiftyone_private_names():
    """Every ``_name`` those parts of FiftyOne define: functions, methods,
    attributes, module globals and keyword arguments."""
    pattern = re.compile(
        r"(?:\bdef |\bself\.|\bcls\.|^\s*|[(,]\s*)(_[a-z][a-z0-9_]*)\b\s*[(=:]?",
        re.M,
    )
    paths = []
    for part in FO_PARTS:
        path = os.path.join(FO_DIR, part)
        if path.endswith(".py"):
            paths.append(path)
        for root, _, files in os.walk(path):
            if os.path.relpath(root, FO_DIR).startswith(FO_SKIPPED):
                continue
            paths += [os.path.join(root, f) for f in files if f.endswith(".py")]
    assert len(paths) > 50, paths
    names = set()
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            names.update(pattern.findall(fh.read()))
    assert {"_root_dataset", "_make_instance", "_raw", "_annotation_cache"} <= names
    return names


def _posekit_files():
    yield os.path.join(REPO, "__init__.py")
    for top in ("posekit", "operators", "panels"):
        for root, _, files in os.walk(os.path.join(REPO, top)):
            for f in files:
                if f.endswith(".py"):
                    yield os.path.join(root, f)


ACCESS = re.compile(r"\.(_[a-z][a-z0-9_]*)\b|\b(_[a-z][a-z0-9_]*)\s*=(?!=)")


def test_private_fiftyone_names_only_in_the_seam():
    fo_names = _fiftyone_private_names()
    seam = os.path.join(REPO, "posekit", "fo_compat.py")
    found = []
    for path in _posekit_files():
        if path == seam:
            continue
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                code = line.split("#", 1)[0]
                for attr, kwarg in ACCESS.findall(code):
                    name = attr or kwarg
                    if kwarg and not re.search(r"[(,]\s*%s\s*=" % re.escape(name), code):
                        continue  # an assignment to a name of our own
                    if name in fo_names:
                        found.append("%s:%d: %s" % (os.path.relpath(path, REPO), n, line.strip()))
    assert not found, (
        "private FiftyOne names outside posekit/fo_compat.py (add a function "
        "there, with why, and a contract test):\n" + "\n".join(found)
    )
