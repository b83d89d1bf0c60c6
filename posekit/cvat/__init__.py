"""posekit's CVAT integration: skeleton SVGs, keypoint <-> skeleton shape
conversion, and the ``"posekit_cvat"`` FiftyOne annotation backend (registered
on import)."""
from .backend import BACKEND_NAME, register_backend

register_backend()
