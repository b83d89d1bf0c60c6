"""Helpers shared by the annotation operators: CVAT credentials from the
plugin secrets, clean error messages, sample targets, progress, run choice.

CVAT's URL and credentials come from the plugin secrets (or environment
variables) ``FIFTYONE_CVAT_URL``, ``FIFTYONE_CVAT_USERNAME``,
``FIFTYONE_CVAT_PASSWORD`` and ``FIFTYONE_CVAT_EMAIL``, or instead of a
username and password ``FIFTYONE_CVAT_API_TOKEN`` (a CVAT personal access
token); they are never form fields, so they never land in saved params or
run records.
"""
import contextlib
import hashlib
import os
import time

import fiftyone.operators as foo
import fiftyone.operators.types as types

from posekit import fo_compat, tagging
from posekit import skeleton_store as store
from posekit.markdown import md_escape
from posekit.cvat import runs
from posekit.cvat.api import CVATError, safe_url
from posekit.cvat.tls import SSL_VERIFY_ENV_VAR
from posekit.cvat.backend import BACKEND_NAME, CREDENTIAL_ENV_VARS

SECRETS = CREDENTIAL_ENV_VARS
TARGETS = ("TAGGED", "SELECTED", "VIEW")


# -- helpers ------------------------------------------------------------------


@contextlib.contextmanager
def _clean_errors(ctx):
    """Re-raises failures with a plain message that never carries the
    CVAT password or session tokens."""
    try:
        yield
    except Exception as e:
        raise RuntimeError(_clean_message(ctx, e)) from None


def _clean_message(ctx, error):
    msg = str(error) or type(error).__name__
    if not isinstance(error, (CVATError, ValueError)):
        msg = "%s: %s" % (type(error).__name__, msg)
    creds = _credentials(ctx)
    for secret in (creds.get("password"), creds.get("api_token")):
        if secret:
            msg = msg.replace(secret, "***")
    return msg


def _credentials(ctx):
    """CVAT credentials from the plugin secrets, else the environment."""
    out = {}
    for key, name in SECRETS.items():
        value = None
        try:
            value = ctx.secrets.get(name)
        except Exception:
            value = None
        out[key] = value or os.environ.get(name) or None
    try:
        value = ctx.secrets.get(SSL_VERIFY_ENV_VAR)
    except Exception:
        value = None
    out["ssl_verify"] = value or os.environ.get(SSL_VERIFY_ENV_VAR) or None
    return out


def _missing_credentials(creds):
    missing = []
    if not creds.get("url"):
        missing.append(SECRETS["url"])
    if creds.get("api_token"):
        return missing
    if not (creds.get("username") or creds.get("email")):
        missing.append(SECRETS["username"])
    if not creds.get("password"):
        missing.append(SECRETS["password"])
    if missing:
        missing.append("or " + SECRETS["api_token"])
    return missing


_ORGS = {}  # hash of the credentials -> (time, organizations or error)
ORGS_TTL = 60.0


def _organizations(creds):
    """The user's CVAT organizations (cached a minute: forms re-resolve on
    every edit); raises CVATError when CVAT cannot say."""
    key = hashlib.sha256(repr(sorted(
        (k, v) for k, v in creds.items() if v)).encode()).hexdigest()
    hit = _ORGS.get(key)
    if hit is None or time.monotonic() - hit[0] > ORGS_TTL:
        try:
            hit = (time.monotonic(), runs.list_organizations(creds))
        except CVATError as e:
            hit = (time.monotonic(), e)
        _ORGS[key] = hit
    if isinstance(hit[1], Exception):
        raise hit[1]
    return hit[1]


def _showing_form(ctx):
    """True while the App resolves the form for display; False when FiftyOne
    re-resolves it to validate an execution. Used only to skip the CVAT round
    trip that lists the user's organizations (FiftyOne has no public flag for
    it; counts and checks run in both cases)."""
    return getattr(ctx, "executor", None) is None


def _organization_input(inputs, ctx):
    """A choice of the user's organizations and the personal workspace."""
    choices = types.DropdownView()
    choices.add_choice("", label="Personal workspace")
    try:
        for org in _organizations(_credentials(ctx)):
            choices.add_choice(org["slug"], label="%s (%s)" % (org["name"], org["slug"]))
    except CVATError as e:
        inputs.view("organizations_unknown", types.Warning(
            label="Could not list your CVAT organizations",
            description=_clean_message(ctx, e)))
    inputs.enum("organization", choices.values(), default="",
                label="CVAT organization", view=choices,
                description="Where the tasks are created; loading, status, "
                "opening and deleting the run use it too")


def _tag_target(ctx):
    """The samples a tag operator touches: the chosen view target if any,
    else the selected samples, else the current view."""
    if ctx.params.get("view_target") or ctx.request_params.get("view_target"):
        return ctx.target_view()
    if ctx.selected:
        return ctx.view.select(ctx.selected)
    return ctx.view


def _request_target(ctx, dataset=None):
    """The samples to send, on ``dataset`` (default: the shared one)."""
    if dataset is None:
        dataset, view = ctx.dataset, ctx.view
    else:
        view = fo_compat.view_on(dataset, ctx.view)
    target = ctx.params.get("target") or _default_request_target(ctx)
    if target == "SELECTED":
        if not ctx.selected:
            raise ValueError("No samples are selected")
        return view.select(ctx.selected)
    if target == "TAGGED":
        tag = tagging.validate_tag(ctx.params.get("tag") or tagging.DEFAULT_TAG)
        return dataset.match_tags(tag)
    return view


def _default_request_target(ctx):
    return "SELECTED" if ctx.selected else "TAGGED"


def _progress(ctx):
    def report(fraction, label):
        try:
            ctx.set_progress(progress=fraction, label=label)
        except Exception:
            pass

    return report


def _keypoint_fields(dataset):
    if dataset.media_type == "video":  # a video's keypoints live on its frames
        import fiftyone as fo

        frames = dataset.get_frame_field_schema(embedded_doc_type=fo.Keypoints) or {}
        return sorted("frames." + f for f in frames) or ["frames.keypoints"]
    return store.keypoint_fields(dataset, lists_only=True)


def _posekit_runs(dataset):
    """The dataset's posekit run keys, newest first."""
    found = [r for r in runs.list_runs(dataset) if r["backend"] == BACKEND_NAME]
    found.sort(key=lambda r: r["timestamp"] or "", reverse=True)
    return [r["anno_key"] for r in found]


NO_RUNS = "This dataset has no posekit CVAT annotation runs"


def _run_choice(inputs, ctx, name="anno_key", label="Annotation run"):
    """A picker of the posekit runs, newest first and by default; without
    runs, an invalid notice (Execute stays disabled)."""
    keys = _posekit_runs(ctx.dataset)
    if not keys:
        inputs.view("no_runs", types.Warning(label=NO_RUNS),
                    invalid=True, error_message=NO_RUNS)
        return None
    choices = types.DropdownView()
    for key in keys:
        choices.add_choice(key, label=key)
    inputs.enum(name, choices.values(), required=True, label=label,
                default=keys[0], view=choices)
    return ctx.params.get(name) or keys[0]


def _chosen_run(ctx, name="anno_key"):
    """The run key an execution names; a clear error when there is none."""
    key = ctx.params.get(name)
    if not key:
        raise ValueError("Choose an annotation run: %s" % NO_RUNS.lower()
                         if not _posekit_runs(ctx.dataset) else "Choose an annotation run")
    return key


MAX_SIZE = 100_000


def _size_problem(value, what):
    """Why ``value`` is not a usable task/segment size, or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        return "%s must be a whole number" % what
    if value < 1:
        return "%s must be positive" % what
    if value > MAX_SIZE:
        return "%s must be at most %d" % (what, MAX_SIZE)
    return None


def _secrets_notice(inputs, ctx):
    creds = _credentials(ctx)
    missing = _missing_credentials(creds)
    if missing:
        message = "Set %s as plugin secrets or environment variables" % ", ".join(missing)
        inputs.view(
            "credentials_missing",
            types.Error(label="CVAT credentials missing", description=md_escape(message)),
            invalid=True,
            error_message="CVAT credentials missing: " + message,
        )
        return False
    how = ("API token from %s" % SECRETS["api_token"]) if creds.get("api_token") else (
        "username and password")
    inputs.view(
        "server",
        types.Notice(label="CVAT server: %s (from %s), signed in with the %s"
                     % (md_escape(safe_url(creds["url"])), md_escape(SECRETS["url"]), md_escape(how))),
    )
    return True


def _delegation_config(name, label, description, icon="edit_note"):
    return foo.OperatorConfig(
        name=name,
        label=label,
        description=description,
        icon=icon,
        risk_level=types.RiskLevel.MEDIUM,
        dynamic=True,
        allow_immediate_execution=True,
        allow_delegated_execution=True,
        default_choice_to_delegated=False,
    )

