"""CVAT tasks and projects a failed request could not delete (the server
failed mid-upload): named in the user's message, remembered in
``dataset.info["posekit"]["cvat_leftovers"]`` by server URL, and deleted
first by the next request to that server."""
import logging

from .api import CVATError, safe_url

logger = logging.getLogger(__name__)

INFO_KEY = "posekit"
LEFTOVERS_KEY = "cvat_leftovers"


def _records(dataset):
    return dict((dataset.info.get(INFO_KEY) or {}).get(LEFTOVERS_KEY) or {})


def _store(dataset, records):
    info = dict(dataset.info.get(INFO_KEY) or {})
    info[LEFTOVERS_KEY] = {k: v for k, v in records.items() if v["tasks"] or v["projects"]}
    dataset.info[INFO_KEY] = info
    dataset.save()


def pending(dataset, url):
    """``{"tasks": [...], "projects": [...]}`` left on the server at ``url``."""
    record = _records(dataset).get(safe_url(url)) or {}
    return {"tasks": list(record.get("tasks") or []),
            "projects": list(record.get("projects") or [])}


def remember(dataset, url, tasks, projects):
    records = _records(dataset)
    left = pending(dataset, url)
    left["tasks"] = sorted(set(left["tasks"]) | set(tasks))
    left["projects"] = sorted(set(left["projects"]) | set(projects))
    records[safe_url(url)] = left
    _store(dataset, records)


def describe(url, tasks, projects):
    """The sentence that tells the user what was left and how to remove it."""
    parts = []
    if tasks:
        parts.append("CVAT task(s) %s" % ", ".join(map(str, tasks)))
    if projects:
        parts.append("project(s) %s" % ", ".join(map(str, projects)))
    return (
        "%s could not be deleted and are left on the CVAT server at %s: "
        "retrying the request deletes them first (or delete them in CVAT)"
        % (" and ".join(parts), safe_url(url))
    )


def _delete(api, url):
    try:
        api.delete(url)
    except CVATError as e:
        if getattr(getattr(e, "response", None), "status_code", None) != 404:
            raise


def clean(api, dataset):
    """Deletes what earlier failed requests left on ``api``'s server; keeps
    the record of anything still not deletable. Returns the deleted ids."""
    url = api.server_url
    left = pending(dataset, url)
    if not (left["tasks"] or left["projects"]):
        return left
    done = {"tasks": [], "projects": []}
    for kind, item_url in (("tasks", api.task_url), ("projects", api.project_url)):
        for item_id in left[kind]:
            try:
                _delete(api, item_url(item_id))
                done[kind].append(item_id)
            except CVATError as e:
                logger.warning("Still cannot delete CVAT %s %s: %s", kind[:-1], item_id, e)
    records = _records(dataset)
    records[safe_url(url)] = {k: [i for i in left[k] if i not in done[k]] for k in left}
    _store(dataset, records)
    logger.info("Deleted CVAT leftovers of an earlier failed request: %s", done)
    return done
