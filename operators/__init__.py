"""posekit's App operators, grouped by workflow step."""
from .skeletons import OPERATORS as _SKELETON_OPERATORS
from .annotation import OPERATORS as _ANNOTATION_OPERATORS
from .preview import OPERATORS as _PREVIEW_OPERATORS
from .qa import OPERATORS as _QA_OPERATORS

OPERATORS = _SKELETON_OPERATORS + _ANNOTATION_OPERATORS + _PREVIEW_OPERATORS + _QA_OPERATORS
