"""Helpers shared by the annotation operators: CVAT credentials from the
plugin secrets, clean error messages, sample targets, progress, run choice.

CVAT's URL and credentials come from the plugin secrets (or environment
variables) ``FIFTYONE_CVAT_URL``, ``FIFTYONE_CVAT_USERNAME``,
``FIFTYONE_CVAT_PASSWORD`` and ``FIFTYONE_CVAT_EMAIL``; they are never form
fields, so they never land in saved params or run records.
"""
import contextlib
import os

import fiftyone.operators as foo
import fiftyone.operators.types as types

from posekit import fo_compat, tagging
from posekit import skeleton_store as store
from posekit.cvat import runs
from posekit.cvat.api import CVATError
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
    password = _credentials(ctx).get("password")
    return msg.replace(password, "***") if password else msg


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
    return out


def _missing_credentials(creds):
    missing = []
    if not creds.get("url"):
        missing.append(SECRETS["url"])
    if not (creds.get("username") or creds.get("email")):
        missing.append(SECRETS["username"])
    if not creds.get("password"):
        missing.append(SECRETS["password"])
    return missing


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


def _showing_form(ctx):
    """True while the App resolves the form for display; False when FiftyOne
    re-resolves it to validate an execution (then counts are skipped)."""
    return getattr(ctx, "executor", None) is None


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
    return store.keypoint_fields(dataset, lists_only=True)


def _posekit_runs(dataset):
    return [
        r["anno_key"] for r in runs.list_runs(dataset) if r["backend"] == BACKEND_NAME
    ]


def _run_choice(inputs, ctx, name="anno_key", label="Annotation run"):
    keys = _posekit_runs(ctx.dataset)
    if not keys:
        inputs.view(
            "no_runs",
            types.Warning(label="This dataset has no posekit CVAT annotation runs"),
        )
        return None
    choices = types.DropdownView()
    for key in keys:
        choices.add_choice(key, label=key)
    inputs.enum(name, choices.values(), required=True, label=label,
                default=keys[-1], view=choices)
    return ctx.params.get(name) or keys[-1]


def _secrets_notice(inputs, ctx):
    creds = _credentials(ctx)
    missing = _missing_credentials(creds)
    if missing:
        inputs.view(
            "credentials_missing",
            types.Error(
                label="CVAT credentials missing",
                description="Set %s as plugin secrets or environment variables"
                % ", ".join(missing),
            ),
        )
        return False
    inputs.view(
        "server",
        types.Notice(label="CVAT server: %s (from %s)" % (creds["url"], SECRETS["url"])),
    )
    return True


def _delegation_config(name, label, description, icon="edit_note"):
    return foo.OperatorConfig(
        name=name,
        label=label,
        description=description,
        icon=icon,
        dynamic=True,
        allow_immediate_execution=True,
        allow_delegated_execution=True,
        default_choice_to_delegated=False,
    )

