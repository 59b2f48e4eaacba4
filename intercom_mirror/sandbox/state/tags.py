"""Tags: `POST /tags` in all its forms (create, rename, tag, untag) and delete."""

from __future__ import annotations

from typing import Any

from ..records import Contact, Tag
from .base import SandboxError, WorkspaceBase, as_object, flag, invalid, lookup, missing


class TagsMixin(WorkspaceBase):
    """Tags: `POST /tags` in all its forms (create, rename, tag, untag) and delete."""

    def render_tag(self, t: Tag) -> dict[str, Any]:
        return {"type": "tag", "id": t.id, "name": t.name}

    def get_tag(self, tag_id: str) -> Tag:
        return lookup(self.tags, str(tag_id), "Tag")

    def save_tag(self, body: Any) -> Tag:
        """Handle every form of `POST /tags`: create, rename, tag and untag users/leads or companies."""
        body = as_object(body)
        users, companies = body.get("users"), body.get("companies")
        if users is not None and companies is not None:
            raise invalid("users", "Users and companies cannot be tagged in the same request")
        for key, entries in (("users", users), ("companies", companies)):
            if entries is not None and (not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries)):
                raise invalid(key, f"{key} must be an array of objects")
        tag = self._tag_for(body)
        if users is not None:
            self._tag_contacts(tag, users)
        if companies is not None:
            self._tag_companies(tag, companies)
        return tag

    def _tag_for(self, body: dict[str, Any]) -> Tag:
        name = body.get("name")
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise invalid("name", "name must be a non-empty string")
        if body.get("id"):
            tag = self.get_tag(str(body["id"]))
            if name and name != tag.name:
                self._rename_tag(tag, name)
            return tag
        if not name:
            raise missing("name")
        found = self.tag_names.get(name.lower())
        if found:
            return self.tags[found]
        tag = Tag(id=self.next_id("tag", 100_000), name=name, created_at=self.now())
        self.tags[tag.id] = tag
        self.tag_names[name.lower()] = tag.id
        self.changed()
        return tag

    def _rename_tag(self, tag: Tag, name: str) -> None:
        holder = self.tag_names.get(name.lower())
        if holder and holder != tag.id:
            raise invalid("name", f"A tag named '{name}' already exists")
        del self.tag_names[tag.name.lower()]
        tag.name = name
        self.tag_names[name.lower()] = tag.id
        self.changed()

    def _tag_contacts(self, tag: Tag, entries: Any) -> None:
        if not isinstance(entries, list):
            raise invalid("users", "users must be an array")
        for entry in entries:
            if not isinstance(entry, dict):
                raise invalid("users", "each user must be an object")
            for c in self._tag_targets(entry):
                self._set_contact_tag(c, tag, untag=flag(entry.get("untag")))

    def _tag_targets(self, entry: dict[str, Any]) -> list[Contact]:
        """Return the contacts a tagging entry names; unknown ones are skipped (inferred)."""
        if entry.get("id"):
            c = self._live(str(entry["id"]))
            return [c] if c is not None else []
        if entry.get("user_id"):
            cid = self.user_ids.get(str(entry["user_id"]))
            return [self.users[cid]] if cid else []
        if entry.get("email"):
            return self.by_email(str(entry["email"]))
        return []

    def _set_contact_tag(self, c: Contact, tag: Tag, untag: bool) -> None:
        has = tag.id in c.tag_ids
        if untag == (not has):
            return
        c.tag_ids = tuple(t for t in c.tag_ids if t != tag.id) if untag else c.tag_ids + (tag.id,)
        self.touch(c)
        prefix = "user" if c.type == "user" else "contact"
        item = {
            "type": f"{prefix}_tag",
            "created_at": self.now(),
            "tag": self.render_tag(tag),
            prefix: self.render_contact(c),
        }
        self.emit(f"{prefix}.tag.{'deleted' if untag else 'created'}", item)

    def _tag_companies(self, tag: Tag, entries: Any) -> None:
        if not isinstance(entries, list):
            raise invalid("companies", "companies must be an array")
        for entry in entries:
            if not isinstance(entry, dict):
                raise invalid("companies", "each company must be an object")
            try:
                co = self._company_for_entry(entry)
            except SandboxError:
                co = None
            if co is None:
                continue
            untag = flag(entry.get("untag"))
            if untag and tag.id in co.tag_ids:
                co.tag_ids = tuple(t for t in co.tag_ids if t != tag.id)
                self.touch(co)
            elif not untag and tag.id not in co.tag_ids:
                co.tag_ids = co.tag_ids + (tag.id,)
                self.touch(co)

    def delete_tag(self, tag_id: str) -> None:
        """Delete a tag and strip it from every contact, company and conversation."""
        tag = self.get_tag(tag_id)
        for table in (self.users, self.leads, self.visitors, self.archived):
            for c in table.values():
                if tag.id in c.tag_ids:
                    c.tag_ids = tuple(t for t in c.tag_ids if t != tag.id)
        for co in self.companies.values():
            if tag.id in co.tag_ids:
                co.tag_ids = tuple(t for t in co.tag_ids if t != tag.id)
        for conv in self.conversations.values():
            conv.tags = [t for t in conv.tags if t[0] != tag.id]
        del self.tags[tag.id]
        self.tag_names.pop(tag.name.lower(), None)
        self.changed()
