"""posekit: App-independent logic for pose skeletons (model, templates, CVAT
conversion, drawing). Nothing here imports FiftyOne's operator types."""
import os

ASSETS_DIR = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "assets"
)
