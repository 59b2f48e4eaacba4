"""What users, leads and visitors share: rendering, lookups, indexes, profile writes, conversion."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from ..records import DERIVED_FIELDS, Company, Contact, derived_fields
from .base import SandboxError, WorkspaceBase, as_identifier, as_timestamp, flag, invalid, missing, not_found

USER_SORTS = ("created_at", "last_request_at", "signed_up_at", "updated_at")
TIME_FIELDS = ("signed_up_at", "remote_created_at", "last_request_at")
EXTRA_FIELDS = ("referrer", "utm_campaign", "utm_content", "utm_medium", "utm_source", "utm_term", "last_seen_ip")


class ContactsMixin(WorkspaceBase):
    """What users, leads and visitors share: rendering, lookups, indexes, profile writes, conversion."""

    def render_contact(self, c: Contact) -> dict[str, Any]:
        """Return a user, lead or visitor as the API shows it."""
        extra = derived_fields(c)
        d: dict[str, Any] = {
            "type": c.type,
            "id": c.id,
            "user_id": c.user_id,
            "email": c.email,
            "phone": c.phone,
            "name": c.name,
            "pseudonym": c.pseudonym,
            "anonymous": c.type != "user",
            "avatar": extra["avatar"],
            "app_id": self.app_id,
            "created_at": c.created_at,
            "remote_created_at": c.remote_created_at,
            "updated_at": c.updated_at,
            "last_request_at": c.last_request_at,
            "session_count": c.session_count,
        }
        if c.type == "user":
            d["signed_up_at"] = c.signed_up_at
        elif c.type == "visitor":
            d["signed_up_at"] = None
        d["unsubscribed_from_emails"] = c.unsubscribed
        for key in DERIVED_FIELDS:
            if key != "avatar":
                d[key] = extra[key]
        d["companies"] = {
            "type": "company.list",
            "companies": [
                self.render_company(self.companies[i], nested=True) for i in c.company_ids if i in self.companies
            ],
        }
        d["segments"] = {
            "type": "segment.list",
            "segments": [{"type": "segment", "id": i} for i in c.segment_ids if i in self.segments],
        }
        d["tags"] = {"type": "tag.list", "tags": [self.render_tag(self.tags[i]) for i in c.tag_ids if i in self.tags]}
        d["custom_attributes"] = dict(c.custom)
        return d

    def contact_any(self, contact_id: str) -> Contact | None:
        """Return a live or archived contact of any type by Intercom id."""
        return (
            self.users.get(contact_id)
            or self.leads.get(contact_id)
            or self.visitors.get(contact_id)
            or self.archived.get(contact_id)
        )

    def _live(self, contact_id: str) -> Contact | None:
        return self.users.get(contact_id) or self.leads.get(contact_id) or self.visitors.get(contact_id)

    def by_email(self, email: str, types: tuple[str, ...] = ("user",)) -> list[Contact]:
        """Return the live contacts of the given types with this email, oldest first."""
        found = []
        for cid in self.emails.get(email.lower(), ()):
            c = self._live(cid)
            if c is not None and c.type in types:
                found.append(c)
        return found

    def resolve_customer(self, ident: dict[str, Any], *, leads: bool = True) -> Contact:
        """Return the user (or lead) named by intercom_user_id/id, user_id or email."""
        types = ("user", "contact") if leads else ("user",)
        cid = ident.get("intercom_user_id") or ident.get("id")
        if cid:
            c = self._live(str(cid))
            if c is None or c.type not in types:
                raise not_found("User")
            return c
        if ident.get("user_id"):
            uid = str(ident["user_id"])
            if uid in self.user_ids:
                return self.users[self.user_ids[uid]]
            anon = self.anon_ids.get(uid)
            if leads and anon in self.leads:
                return self.leads[anon]
            raise not_found("User")
        if ident.get("email"):
            email = str(ident["email"])
            if self.by_email(email):
                return self.one_user_by_email(email)
            found = self.by_email(email, ("contact",)) if leads else []
            if found:
                return found[-1]  # the newest lead with that email
            raise not_found("User")
        raise missing("intercom_user_id, user_id or email")

    def index_contact(self, c: Contact) -> None:
        """Add a contact to the lookup indexes and to its companies."""
        if c.user_id is not None:
            if c.type == "user":
                self.user_ids[c.user_id] = c.id
            else:
                self.anon_ids[c.user_id] = c.id
        if c.email:
            self.emails.setdefault(c.email.lower(), []).append(c.id)
        for co_id in c.company_ids:
            co = self.companies.get(co_id)
            if co is not None:
                co.members.add(c.id)

    def unindex_contact(self, c: Contact) -> None:
        """Remove a contact from the lookup indexes and from its companies."""
        if c.user_id is not None:
            table = self.user_ids if c.type == "user" else self.anon_ids
            if table.get(c.user_id) == c.id:
                del table[c.user_id]
        if c.email:
            ids = self.emails.get(c.email.lower())
            if ids and c.id in ids:
                ids.remove(c.id)
                if not ids:
                    del self.emails[c.email.lower()]
        for co_id in c.company_ids:
            co = self.companies.get(co_id)
            if co is not None:
                co.members.discard(c.id)

    def _table(self, type_: str) -> dict[str, Contact]:
        return {"user": self.users, "contact": self.leads, "visitor": self.visitors}[type_]

    def add_contact(self, c: Contact) -> Contact:
        """Store and index a new contact."""
        self._table(c.type)[c.id] = c
        self.index_contact(c)
        self.changed()
        return c

    def _new_contact(self, type_: str, user_id: str | None = None) -> Contact:
        now = self.now()
        if type_ != "user" and user_id is None:
            user_id = str(uuid.UUID(int=uuid.uuid4().int))
        return Contact(
            id=self.new_hex_id(now),
            type=type_,
            user_id=user_id,
            email=None,
            name=None,
            phone=None,
            pseudonym=None,
            created_at=now,
            updated_at=now,
            signed_up_at=None,
            remote_created_at=None,
            last_request_at=None,
            session_count=0,
            profile=None,
            custom={},
        )

    def _set_identity(self, c: Contact, user_id: str | None, email: str | None, created: bool) -> None:
        if user_id is not None and user_id != c.user_id:
            holder = self.user_ids.get(user_id)
            if holder is not None and holder != c.id:
                raise SandboxError(409, "unique_user_constraint", "User already exists.", "user_id")
            self.unindex_contact(c)
            c.user_id = user_id
            self.index_contact(c)
        if email is not None and email != c.email:
            had_email = c.email
            self.unindex_contact(c)
            c.email = email
            self.index_contact(c)
            if not created and c.type == "user":
                self.emit("user.email.updated", self.render_contact(c))
            if had_email is None and c.type == "contact" and not created:
                self.emit("contact.added_email", self.render_contact(c))

    def check_contact_body(self, body: dict[str, Any], model: str = "customer") -> None:
        """Raise for anything in a user/lead/visitor body that `_apply_profile` would refuse.

        Writes call this before changing anything, so a refused request leaves no trace.
        """
        for key in ("user_id", "email"):
            as_identifier(body.get(key), key)
        for key in TIME_FIELDS:
            if key in body:
                as_timestamp(body[key], key)
        if "custom_attributes" in body:
            self.check_custom(model, body["custom_attributes"])
        if "companies" in body:
            self._check_company_entries(body["companies"])

    def _check_company_entries(self, entries: Any) -> None:
        if not isinstance(entries, list):
            raise invalid("companies", "companies must be an array")
        for entry in entries:
            if not isinstance(entry, dict):
                raise invalid("companies", "each company must be an object")
            self._company_for_entry(entry)
            self.check_company_body(entry)

    def _apply_profile(self, c: Contact, body: dict[str, Any], model: str) -> None:
        """Apply the writable profile fields of a user/lead/visitor body, then touch it."""
        if "name" in body:
            c.name = None if body["name"] is None else str(body["name"])
        if "phone" in body:
            c.phone = None if body["phone"] is None else str(body["phone"])
        for key in TIME_FIELDS:
            if key in body and (c.type == "user" or key != "signed_up_at"):
                setattr(c, key, as_timestamp(body[key], key))
        if flag(body.get("update_last_request_at")):
            c.last_request_at = self.now()
        if flag(body.get("new_session")):
            c.session_count += 1
        if "unsubscribed_from_emails" in body:
            was = c.unsubscribed
            c.unsubscribed = flag(body["unsubscribed_from_emails"])
            if c.unsubscribed and not was and c.type == "user":
                self.emit("user.unsubscribed", self.render_contact(c))
        self._apply_extras(c, body)
        if "custom_attributes" in body:
            c.custom = self.merge_custom(model, c.custom, body["custom_attributes"])
        if "companies" in body:
            self._apply_companies(c, body["companies"])
        self.touch(c)

    def _apply_extras(self, c: Contact, body: dict[str, Any]) -> None:
        updates: dict[str, Any] = {key: body[key] for key in EXTRA_FIELDS if key in body}
        if "last_seen_user_agent" in body:
            updates["user_agent_data"] = body["last_seen_user_agent"]
        avatar = body.get("avatar")
        if isinstance(avatar, dict) and "image_url" in avatar:
            updates["avatar"] = {"type": "avatar", "image_url": avatar["image_url"]}
        if updates:
            c.extra = {**(c.extra or {}), **updates}

    def _apply_companies(self, c: Contact, entries: Any) -> None:
        if not isinstance(entries, list):
            raise invalid("companies", "companies must be an array")
        ids = list(c.company_ids)
        for entry in entries:
            if not isinstance(entry, dict):
                raise invalid("companies", "each company must be an object")
            co = self._company_for_entry(entry)
            if flag(entry.get("remove")):
                if co is not None and co.id in ids:
                    ids.remove(co.id)
                    co.members.discard(c.id)
                continue
            if co is None:
                co = self.upsert_company(entry)
            elif len(entry) > 1:
                self._apply_company_fields(co, entry)
            if co.id not in ids:
                ids.append(co.id)
            co.members.add(c.id)
        c.company_ids = tuple(ids)
        self.changed()

    def _company_for_entry(self, entry: dict[str, Any]) -> Company | None:
        if entry.get("id"):
            co = self.companies.get(str(entry["id"]))
            if co is None:
                raise SandboxError(404, "company_not_found", "Company Not Found", "id")
            return co
        if entry.get("company_id") is not None:
            found = self.company_ids.get(str(entry["company_id"]))
            return self.companies[found] if found else None
        raise missing("company_id")

    def _drop_contact(self, c: Contact) -> None:
        self.unindex_contact(c)
        del self._table(c.type)[c.id]
        self.changed()

    def _convert(self, anon: Contact, target: dict[str, Any]) -> Contact:
        user_id = as_identifier(target.get("user_id"), "user_id")
        email = as_identifier(target.get("email"), "email")
        if not (target.get("id") or user_id or email):
            raise missing("user")
        self.check_contact_body(target)
        existing = self._match_user(target.get("id"), user_id, email)
        if existing is None:
            user = self._become_user(anon, user_id, email, target)
        else:
            user = self._merge_into(anon, existing)
        self.emit("contact.signed_up" if anon.type != "visitor" else "visitor.signed_up", self.render_contact(user))
        return user

    def _merge_into(self, anon: Contact, user: Contact) -> Contact:
        """Fold a lead or visitor into a user: conversations, events, notes, tags, attributes follow."""
        self._move_activity(anon.id, user.id)
        user.tag_ids = tuple(dict.fromkeys(user.tag_ids + anon.tag_ids))
        user.company_ids = tuple(dict.fromkeys(user.company_ids + anon.company_ids))
        for co_id in anon.company_ids:
            if co_id in self.companies:
                self.companies[co_id].members.add(user.id)
        user.custom = {**anon.custom, **user.custom}  # the user's own values win (inferred)
        self._drop_contact(anon)
        self.touch(user)
        return user

    def _move_activity(self, old_id: str, new_id: str) -> None:
        for conv in self.conversations.values():
            if old_id in conv.customer_types:
                conv.customers = list(dict.fromkeys(new_id if c == old_id else c for c in conv.customers))
                del conv.customer_types[old_id]
                conv.customer_types[new_id] = "user"
        moved = self.events_by_contact.pop(old_id, [])
        for e in moved:
            e.contact_id = new_id
        if moved:
            self.events_by_contact.setdefault(new_id, []).extend(moved)
        for n in self.notes.values():
            if n.contact_id == old_id:
                n.contact_id = new_id

    def _become_user(self, anon: Contact, user_id: str | None, email: str | None, target: dict[str, Any]) -> Contact:
        """Turn a lead or visitor into a user in place; it keeps its Intercom id (inferred)."""
        self._drop_contact(anon)
        anon.type = "user"
        anon.user_id = user_id
        if email is not None:
            anon.email = email
        anon.signed_up_at = anon.signed_up_at or self.now()
        self.add_contact(anon)
        for conv in self.conversations.values():
            if anon.id in conv.customer_types:
                conv.customer_types[anon.id] = "user"
        profile = {k: v for k, v in target.items() if k not in ("id", "user_id", "email")}
        self._apply_profile(anon, profile, "customer")
        return anon


def check_order(sort: str, order: str) -> None:
    if sort not in USER_SORTS:
        raise invalid("sort", f"sort must be one of {', '.join(USER_SORTS)}")
    if order not in ("asc", "desc"):
        raise invalid("order", "order must be asc or desc")


def sort_contacts(contacts: Iterable[Contact], sort: str, order: str) -> list[Contact]:
    """Return contacts sorted on one field, ties broken by id so paging never repeats or skips."""
    return sorted(contacts, key=lambda c: (getattr(c, sort) or 0, c.id), reverse=order == "desc")
