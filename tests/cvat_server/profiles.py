"""What differs between the CVAT releases the emulator speaks: one
``Profile`` per recorded server (``tests/recordings/<version>/``).

Everything version-specific is decided here, by attribute, so the handlers
read ``state.profile.<feature>`` instead of comparing version strings.
"""
DEFAULT = "2.23.1"
ABOUT_DESCRIPTION = (
    "CVAT is completely re-designed and re-implemented version of Video "
    "Annotation Tool from Irvine, California tool. It is free, online, "
    "interactive video and image annotation tool for computer vision. It is "
    "being used by our team to annotate million of objects with different "
    "properties. Many UI and UX decisions are based on feedbacks from "
    "professional data annotation team."
)


class Profile:
    """One CVAT release's observable behaviour."""

    def __init__(self, version, **features):
        self.version = version
        # personal access tokens (``Authorization: Bearer``, /api/auth/access_tokens)
        self.access_tokens = features.pop("access_tokens", False)
        # ``score`` on shapes and skeleton elements (default 1.0, [0, 1])
        self.scores = features.pop("scores", False)
        # ``intervals`` in annotation answers
        self.intervals = features.pop("intervals", False)
        # PUT / PATCH create with ids -> 400 "must be absent"; PATCH delete
        # needs ids -> 400 "must be present and not null"
        self.strict_ids = features.pop("strict_ids", False)
        # the fields CVAT added to tasks/jobs/projects/requests/meta
        self.consensus_fields = features.pop("consensus_fields", False)
        # labels?task_id= / job_id= of an org's task under X-Organization: ''
        # answer count 0 (2.23.1) or the labels (2.73)
        self.personal_context_hides_labels = features.pop("personal_context_hides_labels", True)
        # GET /api/organizations/{id} by a non-member: 403 (else 404)
        self.org_forbidden_status = features.pop("org_forbidden_status", 404)
        # video tasks: an element whose job piece is empty is kept with
        # ``shapes: []`` (2.23.1) or dropped (2.73)
        self.video_keeps_empty_elements = features.pop("video_keeps_empty_elements", True)
        # a one-job video task reports the default overlap 5 (2.23.1) or 0
        self.single_job_overlap = features.pop("single_job_overlap", True)
        if features:
            raise TypeError("unknown profile features: %s" % sorted(features))

    def __repr__(self):
        return "Profile(%s)" % self.version

    def about(self, base):
        out = {
            "description": ABOUT_DESCRIPTION,
            "name": "Computer Vision Annotation Tool",
            "version": self.version,
        }
        if self.consensus_fields:
            out.update(logo_url=f"{base}/static/logo.svg",
                       subtitle="Open Data Annotation Platform")
        return out

    def rq_id(self, task_id):
        """The id of a task's data-processing request."""
        if self.consensus_fields:
            return f"action=create&target=task&target_id={task_id}"
        return f"create:task-{task_id}"


PROFILES = {
    "2.23.1": Profile("2.23.1"),
    "2.73.0": Profile(
        "2.73.0", access_tokens=True, scores=True, intervals=True,
        strict_ids=True, consensus_fields=True, org_forbidden_status=403,
        personal_context_hides_labels=False, video_keeps_empty_elements=False,
        single_job_overlap=False,
    ),
}


def get(version):
    """The profile for a version string (a KeyError names the known ones)."""
    try:
        return PROFILES[version]
    except KeyError:
        raise KeyError("unknown CVAT profile %r; known: %s"
                       % (version, ", ".join(PROFILES))) from None
