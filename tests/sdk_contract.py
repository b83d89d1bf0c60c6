"""The cvat-sdk contract, as a script: run it with the cvat-sdk under test on
``PYTHONPATH`` (``<venv>/cvat-sdk-2.73.0`` for 2.73.0) against an emulator
URL. The SDK type-checks every answer against its OpenAPI models, so a
missing or mistyped field fails here. Prints "OK <sdk version>".

    python tests/sdk_contract.py URL USERNAME PASSWORD WORKDIR
"""
import os
import sys

from PIL import Image

import cvat_sdk
from cvat_sdk import make_client, models

NODES = ["head", "hip", "foot"]
SVG = "".join(
    f'<circle r="1.5" cx="30" cy="{20 + 30 * i}" data-type="element node" '
    f'data-element-id="{i + 1}" data-node-id="{i + 1}" data-label-name="{n}"></circle>'
    for i, n in enumerate(NODES)
)


def main(url, username, password, workdir):
    paths = []
    for i in range(3):
        paths.append(os.path.join(workdir, f"f{i}.png"))
        Image.new("RGB", (320 + i, 240)).save(paths[-1])
    with make_client(url, credentials=(username, password)) as client:
        client.config.status_check_period = 0.01
        about = client.api_client.server_api.retrieve_about()[0]
        assert about.version == cvat_sdk.__version__, (about.version, cvat_sdk.__version__)

        spec = models.TaskWriteRequest(name="sdk-skeleton", segment_size=2, labels=[
            models.PatchedLabelRequest(
                name="person", type="skeleton", svg=SVG,
                sublabels=[models.SublabelRequest(name=n, type="points") for n in NODES])])
        task = client.tasks.create_from_data(
            spec, resources=paths, data_params={"image_quality": 75, "sorting_method": "predefined"})
        assert task.size == 3
        (skeleton,) = task.get_labels()
        ids = {s.name: s.id for s in skeleton.sublabels}
        assert [f.name for f in task.get_meta().frames] == ["f0.png", "f1.png", "f2.png"]

        jobs = task.get_jobs()
        assert [(j.start_frame, j.stop_frame) for j in jobs] == [(2, 2), (0, 1)]  # newest first
        assert all(j.parent_job_id is None for j in jobs)

        scores = {"head": 0.25, "hip": 0.5, "foot": 1.0}
        task.set_annotations(models.LabeledDataRequest(shapes=[
            models.LabeledShapeRequest(
                type="skeleton", frame=0, label_id=skeleton.id, points=[], score=0.75,
                elements=[models.SubLabeledShapeRequest(
                    type="points", frame=0, label_id=ids[n], points=[1.0, 2.0],
                    outside=n == "foot", score=scores[n]) for n in NODES])]))
        first = min(jobs, key=lambda j: j.start_frame)
        for source in (task, first):
            (shape,) = source.get_annotations().shapes
            assert shape.score == 0.75
            got = {e.label_id: (e.score, e.outside) for e in shape.elements}
            assert got == {ids[n]: (scores[n], n == "foot") for n in NODES}, got

        task.remove()
    print("OK", cvat_sdk.__version__)


if __name__ == "__main__":
    main(*sys.argv[1:5])
