"""Visitors (`/visitors`): read, update, delete and convert."""

from __future__ import annotations

from typing import Any

from ..records import Contact
from .base import WorkspaceBase, as_identifier, as_object, invalid, lookup, missing, not_found


class VisitorsMixin(WorkspaceBase):
    """Visitors (`/visitors`): read, update, delete and convert."""

    def get_visitor(self, visitor_id: str) -> Contact:
        return lookup(self.visitors, visitor_id, "Visitor")

    def find_visitor(self, user_id: str) -> Contact:
        return self._find_anon(self.visitors, user_id, "Visitor")

    def _visitor_from(self, ident: dict[str, Any], visitor_id: str | None = None) -> Contact:
        if visitor_id or ident.get("id"):
            return self.get_visitor(str(visitor_id or ident["id"]))
        if ident.get("user_id"):
            return self.find_visitor(str(ident["user_id"]))
        if ident.get("email"):
            found = self.by_email(str(ident["email"]), ("visitor",))
            if found:
                return found[0]
            raise not_found("Visitor")
        raise missing("id or user_id")

    def update_visitor(self, body: Any, visitor_id: str | None = None) -> Contact:
        """Update a visitor named by `id` or `user_id` (`PUT /visitors`)."""
        body = as_object(body)
        self.check_contact_body(body)
        c = self._visitor_from(body, visitor_id)
        email = as_identifier(body.get("email"), "email")
        self._set_identity(c, None, email, False)
        self._apply_profile(c, body, "customer")
        return c

    def delete_visitor(self, visitor_id: str | None = None, user_id: str | None = None) -> Contact:
        if visitor_id:
            c = self.get_visitor(visitor_id)
        elif user_id:
            c = self.find_visitor(user_id)
        else:
            raise missing("user_id")
        self._drop_contact(c)
        return c

    def convert_visitor(self, body: Any) -> Contact:
        """Convert a visitor to a user (`type: user`, merge-or-become) or to a lead (`type: lead`)."""
        body = as_object(body)
        visitor = self._visitor_from(as_object(body.get("visitor"), "visitor"))
        kind = body.get("type", "user")
        if kind == "user":
            return self._convert(visitor, as_object(body.get("user"), "user"))
        if kind in ("lead", "contact"):
            self._drop_contact(visitor)
            visitor.type = "contact"
            self.add_contact(visitor)
            self.touch(visitor)
            self.emit("visitor.signed_up", self.render_contact(visitor))
            return visitor
        raise invalid("type", "type must be user or lead")
