"""Template context for every dashboard page: the staff user's profile and the admin they act as."""

from __future__ import annotations

from intercom_mirror.actions import admin_for, profile_for


def staff(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_staff:
        return {}
    return {"staff_profile": profile_for(user), "staff_admin": admin_for(user)}
