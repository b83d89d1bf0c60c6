"""A CVAT 2.23.1 REST API emulator for posekit's tests (see README.md)."""
