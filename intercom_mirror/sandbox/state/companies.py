"""Companies: upsert keyed on company_id, lookups, list, users, delete."""

from __future__ import annotations

from typing import Any

from ..records import Company, Contact
from .base import SandboxError, WorkspaceBase, as_object, as_timestamp, invalid, lookup, missing


class CompaniesMixin(WorkspaceBase):
    """Companies: upsert keyed on company_id, lookups, list, users, delete."""

    def user_count(self, co: Company) -> int:
        users = self.users
        return sum(1 for m in co.members if m in users)

    def render_company(self, co: Company, nested: bool = False) -> dict[str, Any]:
        """Return a company; nested in a contact it carries `tag_ids` like the SDK fixture."""
        d: dict[str, Any] = {
            "type": "company",
            "company_id": co.company_id,
            "id": co.id,
            "app_id": self.app_id,
            "name": co.name,
            "remote_created_at": co.remote_created_at,
            "created_at": co.created_at,
            "updated_at": co.updated_at,
            "last_request_at": co.last_request_at,
            "monthly_spend": co.monthly_spend,
            "session_count": co.session_count,
            "user_count": self.user_count(co),
        }
        if nested:
            d["tag_ids"] = [i for i in co.tag_ids if i in self.tags]
        else:
            d["size"] = co.size
            d["website"] = co.website
            d["industry"] = co.industry
            d["plan"] = {"type": "plan", "id": self.plans[co.plan], "name": co.plan} if co.plan else {}
            d["tags"] = {
                "type": "tag.list",
                "tags": [self.render_tag(self.tags[i]) for i in co.tag_ids if i in self.tags],
            }
            d["segments"] = {
                "type": "segment.list",
                "segments": [{"type": "segment", "id": i} for i in co.segment_ids if i in self.segments],
            }
        d["custom_attributes"] = dict(co.custom)
        return d

    def upsert_company(self, body: Any) -> Company:
        """Create or update a company keyed on `company_id` (or named by `id`)."""
        body = as_object(body)
        self.check_company_body(body)
        if body.get("id"):
            co = self.get_company(str(body["id"]))
        else:
            if body.get("company_id") is None or body.get("company_id") == "":
                raise missing("company_id")
            found = self.company_ids.get(str(body["company_id"]))
            co = self.companies[found] if found else None
        if co is None:
            now = self.now()
            co = Company(
                id=self.new_hex_id(now), company_id=str(body["company_id"]), name=None, created_at=now, updated_at=now
            )
            self.companies[co.id] = co
            self.company_ids[co.company_id] = co.id
            self._apply_company_fields(co, body)
            self.emit("company.created", self.render_company(co))
            return co
        self._apply_company_fields(co, body)
        return co

    def check_company_body(self, body: dict[str, Any]) -> None:
        """Raise for anything in a company body that `_apply_company_fields` would refuse."""
        for key in ("remote_created_at", "last_request_at"):
            if key in body:
                as_timestamp(body[key], key)
        for key in ("monthly_spend", "size", "session_count"):
            value = body.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise invalid(key, f"{key} must be a number")
        if "custom_attributes" in body:
            self.check_custom("company", body["custom_attributes"])

    def _apply_company_fields(self, co: Company, body: dict[str, Any]) -> None:
        if "name" in body:
            co.name = None if body["name"] is None else str(body["name"])
        for key in ("remote_created_at", "last_request_at"):
            if key in body:
                setattr(co, key, as_timestamp(body[key], key))
        for key in ("monthly_spend", "size", "session_count"):
            if key in body:
                setattr(co, key, body[key])
        for key in ("website", "industry"):
            if key in body:
                setattr(co, key, None if body[key] is None else str(body[key]))
        if "plan" in body:
            plan = body["plan"]
            if isinstance(plan, dict):
                plan = plan.get("name")
            co.plan = None if plan in (None, "") else str(plan)
            if co.plan and co.plan not in self.plans:
                self.plans[co.plan] = str(len(self.plans) + 1)
        if "custom_attributes" in body:
            co.custom = self.merge_custom("company", co.custom, body["custom_attributes"])
        self.touch(co)

    def get_company(self, company_id: str) -> Company:
        return lookup(self.companies, company_id, SandboxError(404, "company_not_found", "Company Not Found"))

    def find_company(self, company_id: str | None = None, name: str | None = None) -> Company:
        """Return the company with this company_id, or the first one with this name."""
        if company_id is not None:
            found = self.company_ids.get(company_id)
            if found:
                return self.companies[found]
        elif name is not None:
            for co in self.companies.values():
                if co.name == name:
                    return co
        raise SandboxError(404, "company_not_found", "Company Not Found")

    def list_companies(
        self, order: str = "desc", tag_id: str | None = None, segment_id: str | None = None
    ) -> list[Company]:
        """Return companies that have users, by `last_request_at` (ties by id)."""
        if order not in ("asc", "desc"):
            raise invalid("order", "order must be asc or desc")
        if tag_id and segment_id:
            raise invalid("tag_id", "tag_id and segment_id cannot be combined")
        return self.cached(
            ("companies", order, tag_id, segment_id), lambda: self._sorted_companies(order, tag_id, segment_id)
        )

    def _sorted_companies(self, order: str, tag_id: str | None, segment_id: str | None) -> list[Company]:
        users = self.users
        found = [co for co in self.companies.values() if any(m in users for m in co.members)]
        if tag_id:
            found = [co for co in found if tag_id in co.tag_ids]
        if segment_id:
            found = [co for co in found if segment_id in co.segment_ids]
        return sorted(found, key=lambda co: (co.last_request_at or 0, co.id), reverse=order == "desc")

    def company_users(self, co: Company) -> list[Contact]:
        """Return the company's users, newest first."""
        users = [self.users[m] for m in co.members if m in self.users]
        return sorted(users, key=lambda u: (u.created_at, u.id), reverse=True)

    def delete_company(self, id: str | None = None, company_id: str | None = None) -> Company:
        """Delete a company and detach it from its contacts (inferred: v1 never documented this)."""
        co = self.get_company(id) if id else self.find_company(company_id=company_id) if company_id else None
        if co is None:
            raise missing("company_id")
        for member in list(co.members):
            c = self.contact_any(member)
            if c is not None:
                c.company_ids = tuple(i for i in c.company_ids if i != co.id)
        for c in self.archived.values():
            if co.id in c.company_ids:
                c.company_ids = tuple(i for i in c.company_ids if i != co.id)
        del self.companies[co.id]
        self.company_ids.pop(co.company_id, None)
        self.changed()
        return co
