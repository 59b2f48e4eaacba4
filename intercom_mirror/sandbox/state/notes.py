"""Notes: `POST /notes`, `GET /notes/{id}` and the notes of a user or lead."""

from __future__ import annotations

from typing import Any

from ..records import Contact, Note, to_html
from .base import WorkspaceBase, as_object, lookup, missing


class NotesMixin(WorkspaceBase):
    """Notes: `POST /notes`, `GET /notes/{id}` and the notes of a user or lead."""

    def render_note(self, n: Note) -> dict[str, Any]:
        author = self.admins.get(n.author_id)
        contact = self.contact_any(n.contact_id)
        return {
            "type": "note",
            "id": n.id,
            "created_at": n.created_at,
            "body": n.body,
            "author": {"type": "admin", "id": n.author_id, "name": author.name, "email": author.email}
            if author
            else {"type": "admin", "id": n.author_id},
            "user": {"type": contact.type if contact else "user", "id": n.contact_id},
        }

    def create_note(self, body: Any) -> Note:
        """Add a note to a user or lead; plain text comes back wrapped in <p>."""
        body = as_object(body)
        text = body.get("body")
        if not isinstance(text, str) or not text.strip():
            raise missing("body")
        contact = self.resolve_customer(self._note_subject(body))
        author = self.get_admin(str(body["admin_id"])) if body.get("admin_id") else self.me()
        note = Note(
            id=self.next_id("note"),
            created_at=self.now(),
            body=to_html(text),
            author_id=author.id,
            contact_id=contact.id,
        )
        self.notes[note.id] = note
        return note

    def _note_subject(self, body: dict[str, Any]) -> dict[str, Any]:
        """Return who the note is about: the docs nest `user: {…}`, python-intercom sends `email`/`user_id`/`id` flat."""
        if body.get("user") is not None:
            return as_object(body["user"], "user")
        return {k: body[k] for k in ("id", "user_id", "email") if body.get(k)}

    def get_note(self, note_id: str) -> Note:
        return lookup(self.notes, note_id, "Note")

    def list_notes(self, contact: Contact) -> list[Note]:
        """Return the contact's notes, newest first."""
        found = [n for n in self.notes.values() if n.contact_id == contact.id]
        return sorted(found, key=lambda n: (n.created_at, int(n.id)), reverse=True)
