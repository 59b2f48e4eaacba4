"""Template context for every dashboard page: the staff user's profile and the admin they act as."""

from __future__ import annotations

from intercom_mirror.actions import profile_for


def staff(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_staff:
        return {}
    profile = profile_for(user)
    admin = profile.admin if profile.admin is not None and profile.admin.deleted_at is None else None
    return {"staff_profile": profile, "staff_admin": admin}
