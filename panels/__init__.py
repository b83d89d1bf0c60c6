"""posekit's App panels."""
from .skeleton_preview import PANELS
