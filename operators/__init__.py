"""posekit's App operators, grouped by workflow step."""
from .skeletons import OPERATORS as _SKELETON_OPERATORS
from .annotation import OPERATORS as _ANNOTATION_OPERATORS
from .preview import OPERATORS as _PREVIEW_OPERATORS
from .qa import OPERATORS as _QA_OPERATORS
from .preannotate import OPERATORS as _PREANNOTATE_OPERATORS
from .correction_report import OPERATORS as _CORRECTION_OPERATORS

# The App's operator browser ranks equal first letters of the descriptions
# (all posekit's start with "Pose") in registration order: most used first.
MOST_USED_FIRST = (
    "request_skeleton_annotation", "load_skeleton_annotation", "define_skeleton",
    "tag_for_annotation", "open_skeleton_preview", "list_annotation_runs",
    "open_annotation_run", "untag_for_annotation", "import_coco_skeleton",
    "list_skeletons", "export_coco_skeleton", "rename_annotation_run",
    "delete_annotation_run", "delete_skeleton",
)


def _rank(cls):
    name = cls().config.name
    return MOST_USED_FIRST.index(name) if name in MOST_USED_FIRST else len(MOST_USED_FIRST)


OPERATORS = sorted(
    _SKELETON_OPERATORS + _ANNOTATION_OPERATORS + _PREVIEW_OPERATORS + _QA_OPERATORS
    + _PREANNOTATE_OPERATORS + _CORRECTION_OPERATORS,
    key=_rank,
)
