"""COCO keypoint categories <-> skeletons.

A COCO keypoints file describes its skeletons in ``categories``::

    {"id": 1, "name": "person", "supercategory": "person",
     "keypoints": ["nose", "left_eye", ...],
     "skeleton": [[16, 14], [14, 12], ...]}   # 1-based keypoint indices

:func:`skeleton_from_coco` reads one such category (from a whole file, its
``categories`` list, one category, or their JSON text); the edges become one
edge group, in file order. :func:`skeleton_to_coco` writes the same shape back
(all edge groups, in order), so a round trip gives the same names and pairs.
"""
import json
import os
import tempfile

from posekit.skeleton import EdgeGroup, Skeleton

GROUP_NAME = "skeleton"


class CocoError(ValueError):
    """The COCO input is not a usable keypoints category (or file);
    ``input`` names the form input at fault, when known."""

    def __init__(self, message, input=None):
        super().__init__(message)
        self.input = input


def keypoint_categories(categories_or_file_json):
    """The categories with ``keypoints`` in a COCO file, categories list,
    single category, or JSON text of any of those."""
    obj = categories_or_file_json
    if isinstance(obj, (str, bytes)):
        try:
            obj = json.loads(obj)
        except ValueError as e:
            raise CocoError(f"Not valid JSON: {e}") from None
    if isinstance(obj, dict) and "categories" in obj:
        obj = obj["categories"]
    if isinstance(obj, dict):
        obj = [obj]
    if not isinstance(obj, list) or not all(isinstance(c, dict) for c in obj):
        raise CocoError(
            "Expected a COCO file, its 'categories' list, or one category"
        )
    cats = [c for c in obj if c.get("keypoints")]
    if not cats:
        raise CocoError("No category has a 'keypoints' list")
    return cats


def _pick(cats, category):
    if category is None:
        if len(cats) > 1:
            names = ", ".join(repr(c.get("name")) for c in cats)
            raise CocoError(f"Several keypoint categories ({names}): pick one")
        return cats[0]
    for c in cats:
        if c.get("name") == category or (
            not isinstance(category, str) and c.get("id") == category
        ):
            return c
    names = ", ".join(repr(c.get("name")) for c in cats)
    raise CocoError(f"No keypoint category {category!r}; found {names}")


def skeleton_from_coco(categories_or_file_json, category=None):
    """A :class:`Skeleton` from a COCO keypoints category.

    Args:
        categories_or_file_json: a COCO file dict, its ``categories`` list,
            one category dict, or JSON text of any of those
        category: the category name or id; needed only when several
            categories have keypoints
    """
    cat = _pick(keypoint_categories(categories_or_file_json), category)
    labels = cat["keypoints"]
    if not all(isinstance(k, str) for k in labels):
        raise CocoError("'keypoints' must be a list of names")
    n = len(labels)
    edges = []
    for k, pair in enumerate(cat.get("skeleton") or []):
        ok = (
            isinstance(pair, (list, tuple))
            and len(pair) == 2
            and all(isinstance(i, int) and 1 <= i <= n for i in pair)
        )
        if not ok:
            raise CocoError(
                f"skeleton pair {k + 1} {pair!r} is not two 1-based indices "
                f"between 1 and {n}"
            )
        edges.append((labels[pair[0] - 1], labels[pair[1] - 1]))
    return Skeleton(labels=list(labels), edge_groups=[EdgeGroup(GROUP_NAME, edges)])


def skeleton_to_coco(skeleton, name="person", id=1, supercategory=None):
    """A COCO keypoints category dict for a skeleton.

    Args:
        skeleton: a :class:`Skeleton` or ``fo.KeypointSkeleton``
        name: the category name
        id: the category id
        supercategory: defaults to ``name``
    """
    if not isinstance(skeleton, Skeleton):
        skeleton = Skeleton.from_fo(skeleton)
    return {
        "supercategory": supercategory if supercategory is not None else name,
        "id": id,
        "name": name,
        "keypoints": list(skeleton.labels),
        "skeleton": [[a + 1, b + 1] for a, b in skeleton.index_edges()],
    }


# --- files -------------------------------------------------------------------

MAX_FILE_BYTES = 5 * 1024 * 1024


def export_path(folder, filename):
    """The absolute path of ``filename`` inside the existing ``folder``, or
    :class:`CocoError`. ``filename`` is a bare ``.json`` name: no folder
    part, no ``..``, no hidden file; ``folder`` is absolute and exists (no
    folder is ever created); a link that leads out of ``folder`` is refused."""
    folder = str(folder or "")
    name = str(filename or "").strip()
    if not folder:
        raise CocoError("Choose a folder", "folder")
    if not os.path.isabs(folder):
        raise CocoError("Choose the folder with the file explorer (an absolute path)", "folder")
    if not name:
        raise CocoError("Give a file name")
    if "/" in name or "\\" in name or os.sep in name or name.startswith("."):
        raise CocoError("Give a file name only, without a folder (no '/', no '..')")
    if not name.lower().endswith(".json") or name.lower() == ".json":
        raise CocoError("The file name must end with .json")
    if not os.path.isdir(folder):
        raise CocoError("The chosen folder does not exist", "folder")
    real = os.path.realpath(folder)
    path = os.path.join(real, name)
    if os.path.lexists(path) and os.path.dirname(os.path.realpath(path)) != real:
        raise CocoError(f"{name} is a link out of the chosen folder")
    if os.path.lexists(path) and not os.path.isfile(path):
        raise CocoError(f"{name} exists and is not a file")
    return path


def write_json(path, obj, overwrite=False):
    """Writes ``obj`` to ``path`` (from :func:`export_path`); an existing
    file only with ``overwrite``. The file is written beside and renamed
    into place, so a link at ``path`` is replaced, never followed."""
    folder = os.path.dirname(path)
    if os.path.lexists(path) and not overwrite:
        raise CocoError(f"{os.path.basename(path)} exists: tick Overwrite to replace it")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".posekit-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=2, ensure_ascii=False)
        if overwrite:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # fails if the file appeared meanwhile
            os.unlink(tmp)
    except FileExistsError:
        os.unlink(tmp)
        raise CocoError(f"{os.path.basename(path)} exists: tick Overwrite to replace it") from None
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise


def read_json(path, max_bytes=MAX_FILE_BYTES):
    """The parsed content of the ``.json`` file at ``path``, or
    :class:`CocoError` (one message for a missing or unreadable file)."""
    path = str(path or "")
    if not path.lower().endswith(".json"):
        raise CocoError("Choose a .json file")
    if not os.path.isabs(path):
        raise CocoError("Choose the file with the file explorer (an absolute path)")
    try:
        if not os.path.isfile(path):
            raise OSError
        if max_bytes is not None and os.path.getsize(path) > max_bytes:
            raise CocoError(f"The file is larger than {max_bytes // (1024 * 1024)} MB")
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except CocoError:
        raise
    except (OSError, UnicodeDecodeError):
        raise CocoError("Cannot read that file") from None
    except ValueError as e:
        raise CocoError(f"Not valid JSON: {e}") from None
