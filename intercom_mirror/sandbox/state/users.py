"""Users: `POST /users` upserts, lookups, the users list and archiving."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..records import Contact
from .base import SandboxError, WorkspaceBase, as_identifier, as_object, invalid, lookup, missing, not_found
from .contacts import check_order, sort_contacts


class UsersMixin(WorkspaceBase):
    """Users: `POST /users` upserts, lookups, the users list and archiving."""

    def get_user(self, user_id: str) -> Contact:
        return lookup(self.users, user_id, "User")

    def find_user(self, user_id: str) -> Contact:
        """Return the user with this (customer-side) user_id."""
        cid = self.user_ids.get(user_id)
        if cid is None:
            raise not_found("User")
        return self.users[cid]

    def one_user_by_email(self, email: str) -> Contact:
        """Return the single user with this email; several → 409 conflict."""
        matches = self.by_email(email)
        if not matches:
            raise not_found("User")
        if len(matches) > 1:
            raise SandboxError(
                409,
                "conflict",
                "Multiple existing users match this email address - must be more specific using user_id",
                "email",
            )
        return matches[0]

    def upsert_user(self, body: Any) -> Contact:
        """Create or update a user (`POST /users`); key `id` > `user_id` > `email`."""
        body = as_object(body)
        self.check_contact_body(body)
        user_id = as_identifier(body.get("user_id"), "user_id")
        email = as_identifier(body.get("email"), "email")
        c = self._match_user(body.get("id"), user_id, email)
        created = False
        if c is None:
            c = self._restore_archived(user_id, email)
        if c is None:
            if user_id is None and email is None:
                raise missing("user_id or email")
            c = self.add_contact(self._new_contact("user", user_id))
            created = True
        self._set_identity(c, user_id, email, created)
        self._apply_profile(c, body, "customer")
        if created:
            self.emit("user.created", self.render_contact(c))
        return c

    def _match_user(self, intercom_id: Any, user_id: str | None, email: str | None) -> Contact | None:
        if intercom_id:
            c = self.users.get(str(intercom_id))
            if c is None and str(intercom_id) in self.archived:
                return self._restore(self.archived[str(intercom_id)])
            if c is None:
                raise not_found("User", "id")
            return c
        if user_id is not None and user_id in self.user_ids:
            return self.users[self.user_ids[user_id]]
        if email is None:
            return None
        matches = self.by_email(email)
        if user_id is not None:
            # A new user_id may claim an email-only user, but never one with its own user_id (inferred).
            orphans = [m for m in matches if m.user_id is None]
            return orphans[0] if len(orphans) == 1 else None
        if len(matches) > 1:
            raise SandboxError(
                409,
                "conflict",
                "Multiple existing users match this email address - must be more specific using user_id",
                "email",
            )
        return matches[0] if matches else None

    def _restore_archived(self, user_id: str | None, email: str | None) -> Contact | None:
        """Bring back an archived user named by user_id or email (inferred behaviour)."""
        for c in self.archived.values():
            if (user_id is not None and c.user_id == user_id) or (
                user_id is None and email is not None and c.email and c.email.lower() == email.lower()
            ):
                return self._restore(c)
        return None

    def _restore(self, c: Contact) -> Contact:
        del self.archived[c.id]
        self.users[c.id] = c
        self.index_contact(c)
        self.changed()
        return c

    def list_users(
        self,
        sort: str = "created_at",
        order: str = "desc",
        created_since: int | None = None,
        tag_id: str | None = None,
        segment_id: str | None = None,
    ) -> list[Contact]:
        """Return live users in list order (stable tie-break by id)."""
        check_order(sort, order)
        if tag_id and segment_id:
            raise invalid("tag_id", "tag_id and segment_id cannot be combined")
        key = ("users", sort, order, created_since, tag_id, segment_id)
        return self.cached(key, lambda: self._sorted_users(sort, order, created_since, tag_id, segment_id))

    def _sorted_users(
        self, sort: str, order: str, created_since: int | None, tag_id: str | None, segment_id: str | None
    ) -> list[Contact]:
        users: Iterable[Contact] = self.users.values()
        if created_since is not None:
            since = self.now() - created_since * 86400
            users = [u for u in users if u.created_at >= since]
        if tag_id:
            users = [u for u in users if tag_id in u.tag_ids]
        if segment_id:
            users = [u for u in users if segment_id in u.segment_ids]
        return sort_contacts(users, sort, order)

    def archive_user(self, id: str | None = None, user_id: str | None = None, email: str | None = None) -> Contact:
        """Archive (soft-delete) a user; it leaves lists and lookups, its conversations stay."""
        if id:
            c = self.get_user(id)
        elif user_id:
            c = self.find_user(user_id)
        elif email:
            c = self.one_user_by_email(email)
        else:
            raise missing("id, user_id or email")
        self.unindex_contact(c)  # keeps c.company_ids, so a restore re-attaches the user
        del self.users[c.id]
        self.archived[c.id] = c
        self.changed()
        self.emit("user.deleted", self.render_contact(c))
        return c
