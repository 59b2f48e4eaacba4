"""The bulk API: `POST /bulk/users` and `/bulk/events` run as jobs, read back at `/jobs/{id}` and `/jobs/{id}/error`."""

from __future__ import annotations

from typing import Any

from ..records import Job
from .base import SandboxError, WorkspaceBase, as_object, invalid, lookup, missing

# The SDK's job fixture closes a job 15 minutes after it opens; until then more items may join it.
JOB_OPEN_FOR = 15 * 60
# Webhook topics documented as "not via bulk".
BULK_SILENT = frozenset({"user.created", "user.deleted"})


class BulkMixin(WorkspaceBase):
    """The bulk API: `POST /bulk/users` and `/bulk/events` run as jobs, read back at `/jobs/{id}` and `/jobs/{id}/error`."""

    def submit_bulk(self, data_type: str, body: Any) -> Job:
        """Run one bulk submission (`data_type` "user" or "event") as a task of a new or still open job.

        The sandbox runs the items at once (inferred: the real API queued them); an item that fails
        goes to the job's error feed and the others still apply.
        """
        body = as_object(body)
        items = body.get("items")
        if not isinstance(items, list) or not items:
            raise missing("items")
        if not all(isinstance(item, dict) for item in items):
            raise invalid("items", "items must be an array of objects")
        job = self._open_job(as_object(body.get("job"), "job").get("id"))
        now = self.now()
        muted, self.muted = self.muted, self.muted | BULK_SILENT
        try:
            for item in items:
                error = self._bulk_item(data_type, item)
                if error is not None:
                    job.errors.append({**item, "error": {"code": error.code, "message": error.message}})
        finally:
            self.muted = muted
        task_id = f"task_{self.next_id('bulk_task')}"
        task = {"id": task_id, "item_count": len(items), "created_at": now, "started_at": now, "completed_at": now}
        job.tasks.append({**task, "state": "completed"})
        job.updated_at = now
        return job

    def _open_job(self, job_id: Any) -> Job:
        if job_id:
            job = self.get_job(str(job_id))
            if self.now() >= job.closing_at:
                raise SandboxError(400, "job_closed", "The job is closed; submit a new one", "job")
            return job
        now = self.now()
        job = Job(id=f"job_{self.next_id('bulk_job')}", created_at=now, updated_at=now, closing_at=now + JOB_OPEN_FOR)
        self.jobs[job.id] = job
        return job

    def _bulk_item(self, data_type: str, item: dict[str, Any]) -> SandboxError | None:
        """Apply one bulk item; return the error it met, if any."""
        method = item.get("method")
        try:
            if item.get("data_type") != data_type:
                raise invalid("data_type", f"data_type must be {data_type}")
            data = as_object(item.get("data"), "data")
            if data_type == "user" and method == "post":
                self.upsert_user(data)
            elif data_type == "user" and method == "delete":
                ident = {k: str(data[k]) for k in ("id", "user_id", "email") if data.get(k)}
                self.archive_user(**ident)
            elif data_type == "event" and method == "post":
                self.create_event(data)
            else:
                raise invalid("method", f"method {method!r} is not supported for {data_type} items")
        except SandboxError as exc:
            return exc
        return None

    def get_job(self, job_id: str) -> Job:
        return lookup(self.jobs, job_id, "Job")

    def render_job(self, job: Job, base: str = "https://api.intercom.io") -> dict[str, Any]:
        """Return a job in the SDK fixture's shape; it completes when it closes."""
        done = self.now() >= job.closing_at
        state = "completed" if done else "running"
        return {
            "type": "job",
            "app_id": self.app_id,
            "id": job.id,
            "created_at": job.created_at,
            "updated_at": job.updated_at,
            "completed_at": job.closing_at if done else None,
            "closing_at": job.closing_at,
            "name": "api_bulk_job",
            "state": state,
            "links": {"error": f"{base}/jobs/{job.id}/error", "self": f"{base}/jobs/{job.id}"},
            "tasks": [dict(task) for task in job.tasks],
        }

    def render_job_errors(self, job: Job) -> dict[str, Any]:
        """Return the error feed: the failed items with their error (the item shape is inferred)."""
        return {"app_id": self.app_id, "job_id": job.id, "pages": {}, "items": list(job.errors)}
