"""Which Intercom admin a staff user acts as: matched by email on first login, changeable in the Django admin."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from intercom_mirror.models import Admin, StaffProfile


def profile_for(user) -> StaffProfile:
    """Return the user's staff profile, linking it to the admin with the same email the first time.

    The profile is kept in the user's related-object cache, as `user.staff_profile` keeps it: one
    request asks several times (the view, the staff context processor) and reads it once.
    """
    accessor = getattr(user.__class__, "staff_profile", None)  # __class__: request.user is a lazy object
    if accessor is not None and accessor.related.is_cached(user):
        return user.staff_profile
    profile, created = StaffProfile.objects.select_related("admin").get_or_create(user=user)
    if created and user.email:
        admin = Admin.objects.live().filter(email__iexact=user.email).order_by("id").first()
        if admin is not None:
            profile.admin = admin
            profile.save(update_fields=["admin"])
    if accessor is not None:
        user.staff_profile = profile
    return profile


def forget_profile(user) -> None:
    """Drop the profile kept on the user, so the next ask reads it (and its admin) again after a write changed them."""
    accessor = getattr(user.__class__, "staff_profile", None)
    if accessor is not None and accessor.related.is_cached(user):
        accessor.related.delete_cached_value(user)


def admin_for(user) -> Admin | None:
    """Return the live Intercom admin the user's writes are sent as, or None."""
    if not getattr(user, "is_authenticated", False):
        return None
    admin = profile_for(user).admin
    return admin if admin is not None and admin.deleted_at is None else None


@receiver(user_logged_in)
def link_on_login(sender, request, user, **kwargs) -> None:
    profile_for(user)
