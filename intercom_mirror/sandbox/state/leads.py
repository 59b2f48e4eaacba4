"""Leads (`/contacts`): create/update, lookups, list, delete and convert."""

from __future__ import annotations

from typing import Any

from ..records import Contact
from .base import WorkspaceBase, as_identifier, as_object, lookup, missing, not_found
from .contacts import check_order, sort_contacts


class LeadsMixin(WorkspaceBase):
    """Leads (`/contacts`): create/update, lookups, list, delete and convert."""

    def get_lead(self, lead_id: str) -> Contact:
        return lookup(self.leads, lead_id, "Contact")

    def find_lead(self, user_id: str) -> Contact:
        return self._find_anon(self.leads, user_id, "Contact")

    def _find_anon(self, store: dict[str, Contact], user_id: str, label: str) -> Contact:
        """Return a lead or visitor by its generated user_id, or raise the API's 404."""
        cid = self.anon_ids.get(user_id)
        if cid is None or cid not in store:
            raise not_found(label)
        return store[cid]

    def upsert_lead(self, body: Any, lead_id: str | None = None) -> Contact:
        """Create a lead, or update the one named by `id`/`user_id` (`POST /contacts`, `PUT /contacts/{id}`)."""
        body = as_object(body)
        self.check_contact_body(body)
        lead_id = lead_id or body.get("id")
        uid = as_identifier(body.get("user_id"), "user_id")
        created = False
        if lead_id:
            c = self.get_lead(str(lead_id))
        elif uid and uid in self.anon_ids and self.anon_ids[uid] in self.leads:
            c = self.leads[self.anon_ids[uid]]
        else:
            c = self.add_contact(self._new_contact("contact", uid))
            c.pseudonym = self._pseudonym(c)
            created = True
        email = as_identifier(body.get("email"), "email")
        self._set_identity(c, None, email, created)
        self._apply_profile(c, body, "customer")
        if created:
            self.emit("contact.created", self.render_contact(c))
        return c

    def _pseudonym(self, c: Contact) -> str:
        colours = ("Lime", "Azure", "Coral", "Violet", "Amber", "Teal", "Crimson", "Olive")
        animals = ("Duck", "Bike", "Otter", "Falcon", "Lynx", "Heron", "Panda", "Koala")
        n = int(c.id[-8:], 16)
        return f"{colours[n % 8]} {animals[(n // 8) % 8]} from Dublin"

    def list_leads(
        self, email: str | None = None, phone: str | None = None, sort: str = "created_at", order: str = "desc"
    ) -> list[Contact]:
        """Return leads in list order (sorted like users, inferred), optionally filtered by email or phone."""
        check_order(sort, order)
        if email:
            return sort_contacts(self.by_email(email, ("contact",)), sort, order)
        leads = self.cached(("leads", sort, order), lambda: sort_contacts(self.leads.values(), sort, order))
        return [c for c in leads if c.phone == phone] if phone else leads

    def delete_lead(self, lead_id: str | None = None, user_id: str | None = None) -> Contact:
        """Delete a lead for good; it then 404s."""
        if lead_id:
            c = self.get_lead(lead_id)
        elif user_id:
            c = self.find_lead(user_id)
        else:
            raise missing("user_id")
        self._drop_contact(c)
        self.emit("contact.deleted", self.render_contact(c))
        return c

    def convert_lead(self, body: Any) -> Contact:
        """Convert a lead (`POST /contacts/convert`): merge into an existing user, or become one."""
        body = as_object(body)
        ident = as_object(body.get("contact"), "contact")
        if ident.get("id"):
            lead = self.get_lead(str(ident["id"]))
        elif ident.get("user_id"):
            lead = self.find_lead(str(ident["user_id"]))
        else:
            raise missing("contact")
        return self._convert(lead, as_object(body.get("user"), "user"))
