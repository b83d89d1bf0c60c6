"""JSON renderings of users, projects, tasks, jobs and requests, field for
field as the recorded servers serve them; ``state.profile`` adds what 2.73
added (``consensus_enabled``, ``media_type``, ``organization_id``,
``project_name``, ``data: null`` before upload; jobs' ``parent_job_id``,
``consensus_replicas``, ``replicas_count``, ``task_name``...)."""


def basic_user(user, base):
    if user is None:
        return None
    return {
        "first_name": "",
        "id": user.id,
        "last_name": "",
        "url": f"{base}/api/users/{user.id}",
        "username": user.username,
    }


def full_user(user, base):
    return {
        "date_joined": user.date_joined,
        "email": user.email,
        "first_name": "",
        "groups": ["admin"] if user.is_superuser else ["user"],
        "has_analytics_access": user.is_superuser,
        "id": user.id,
        "is_active": True,
        "is_staff": user.is_superuser,
        "is_superuser": user.is_superuser,
        "last_login": user.last_login,
        "last_name": "",
        "url": f"{base}/api/users/{user.id}",
        "username": user.username,
    }


def project_json(state, p, base):
    tasks = [t for t in state.tasks.values() if t["project_id"] == p["id"]]
    out = {
        "assignee": basic_user(state.users.get(p["assignee_id"]), base),
        "assignee_updated_date": p["assignee_updated_date"],
        "bug_tracker": p["bug_tracker"],
        "created_date": p["created_date"],
        "dimension": "2d" if any(t["size"] for t in tasks) else None,
        "guide_id": None,
        "id": p["id"],
        "labels": {"url": f"{base}/api/labels?project_id={p['id']}"},
        "name": p["name"],
        "organization": p.get("org_id"),
        "owner": basic_user(state.users.get(p["owner_id"]), base),
        "source_storage": None,
        "status": "annotation",
        "target_storage": None,
        "task_subsets": sorted({t["subset"] for t in tasks if t["subset"]}),
        "tasks": {
            "count": len(tasks),
            "url": f"{base}/api/tasks?project_id={p['id']}",
        },
        "updated_date": p["updated_date"],
        "url": f"{base}/api/projects/{p['id']}",
    }
    if state.profile.consensus_fields:
        out["organization_id"] = p.get("org_id")
    return out


def _project_name(state, t):
    project = state.projects.get(t["project_id"])
    return project["name"] if project else None


def task_json(state, t, base):
    jobs = [j for j in state.task_jobs(t) if j.get("parent_job_id") is None]
    recent = state.profile.consensus_fields
    has_data = t["data"] is not None
    out = {
        "assignee": basic_user(state.users.get(t["assignee_id"]), base),
        "assignee_updated_date": t["assignee_updated_date"],
        "bug_tracker": t["bug_tracker"],
        "created_date": t["created_date"],
        "dimension": "2d" if has_data or not recent else "",
        "guide_id": None,
        "id": t["id"],
        "jobs": {
            "completed": sum(j["state"] == "completed" for j in jobs),
            "count": len(jobs),
            "url": f"{base}/api/jobs?task_id={t['id']}",
            "validation": sum(j["stage"] == "validation" for j in jobs),
        },
        "labels": {"url": f"{base}/api/labels?task_id={t['id']}"},
        "mode": t["mode"],
        "name": t["name"],
        "organization": t.get("org_id"),
        "overlap": t["overlap"],
        "owner": basic_user(state.users.get(t["owner_id"]), base),
        "project_id": t["project_id"],
        "segment_size": t["segment_size"],
        "source_storage": None,
        "status": "annotation",
        "subset": t["subset"],
        "target_storage": None,
        "updated_date": t["updated_date"],
        "url": f"{base}/api/tasks/{t['id']}",
        "validation_mode": None,
    }
    if recent:
        out.update(
            consensus_enabled=bool(t.get("consensus_replicas")),
            data=None,
            media_type=t.get("media_type", "image") if has_data else "",
            organization_id=t.get("org_id"),
            project_name=_project_name(state, t),
        )
    if has_data:  # CVAT omits data-sourced fields until then
        out.update(
            data=t["data"],
            data_chunk_size=t["chunk_size"],
            data_compressed_chunk_type=t.get("chunk_type", "imageset"),
            data_original_chunk_type=t.get("chunk_type", "imageset"),
            image_quality=t["image_quality"],
            size=t["size"],
        )
        if recent:
            out["data_cloud_storage_id"] = None
    return out


def job_json(state, j, base):
    task = state.tasks[j["task_id"]]
    out = {
        "assignee": basic_user(state.users.get(j["assignee_id"]), base),
        "assignee_updated_date": j["assignee_updated_date"],
        "bug_tracker": task["bug_tracker"] or None,
        "created_date": j["created_date"],
        "data_chunk_size": task["chunk_size"],
        "data_compressed_chunk_type": task.get("chunk_type", "imageset"),
        "data_original_chunk_type": task.get("chunk_type", "imageset"),
        "dimension": "2d",
        "frame_count": j["stop_frame"] - j["start_frame"] + 1,
        "guide_id": None,
        "id": j["id"],
        "issues": {"count": 0, "url": f"{base}/api/issues?job_id={j['id']}"},
        "labels": {"url": f"{base}/api/labels?job_id={j['id']}"},
        "mode": task["mode"],
        "organization": task.get("org_id"),
        "project_id": task["project_id"],
        "source_storage": None,
        "stage": j["stage"],
        "start_frame": j["start_frame"],
        "state": j["state"],
        "status": j["stage"],
        "stop_frame": j["stop_frame"],
        "target_storage": None,
        "task_id": j["task_id"],
        "type": j.get("type", "annotation"),
        "updated_date": j["updated_date"],
        "url": f"{base}/api/jobs/{j['id']}",
    }
    if state.profile.consensus_fields:
        out.update(
            consensus_replicas=task.get("consensus_replicas", 0) if j.get("parent_job_id") is None else 0,
            media_type=task.get("media_type", "image"),
            parent_job_id=j.get("parent_job_id"),
            project_name=_project_name(state, task),
            replicas_count=sum(1 for k in state.task_jobs(task) if k.get("parent_job_id") == j["id"]),
            task_name=task["name"],
        )
    return out


def request_json(state, rq):
    """A /api/requests answer (the stored record holds both versions' keys)."""
    out = dict(rq, operation=dict(rq["operation"]))
    if state.profile.consensus_fields:
        out["operation"].pop("function_id", None)
    else:
        for key in ("lightweight", "org_id"):
            out["operation"].pop(key, None)
    return out
