from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, Group
from django.core.management.base import BaseCommand, CommandError

from intercom_mirror.actions import profile_for
from intercom_mirror.models import Admin

SUPPORT_STAFF = "Support staff"


def make_demo_user(username: str, password: str) -> tuple[AbstractUser, Group | None]:
    """Create or reset a staff, non-superuser login in the "Support staff" group (when that group exists)."""
    user, _ = get_user_model().objects.get_or_create(username=username)
    user.is_staff, user.is_superuser, user.is_active = True, False, True
    user.set_password(password)
    user.save()
    group = Group.objects.filter(name=SUPPORT_STAFF).first()
    if group:
        user.groups.add(group)
    return user, group


class Command(BaseCommand):
    help = "Create (or reset) the demo staff login and print it. Runs only with DEBUG on, or with the flag below."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--username", default="demo")
        parser.add_argument("--password", default="demo-password")
        parser.add_argument(
            "--i-know-this-is-not-production",
            action="store_true",
            dest="not_production",
            help="create the login even though DEBUG is off (a staging copy, say)",
        )

    def handle(self, *args, username: str, password: str, not_production: bool, **options) -> None:
        # The password is public (README, demo output): such a login must never appear on a real deployment.
        if not (settings.DEBUG or not_production):
            raise CommandError(
                "demo_login creates a staff login with a known password, so it refuses to run with DEBUG off. "
                "Run it with DJANGO_DEBUG=true, or pass --i-know-this-is-not-production if this is not production."
            )
        user, group = make_demo_user(username, password)
        where = f'group "{group.name}"' if group else f'no "{SUPPORT_STAFF}" group yet'
        admin = link_to_an_admin(user)
        acting = f"writes as Intercom admin {admin.name or admin.email}" if admin else "no Intercom admin mirrored yet"
        self.stdout.write(f"Demo login: {username} / {password}  (staff, not superuser; {where}; {acting})")


def link_to_an_admin(user) -> Admin | None:
    """Let the demo user act as the first mirrored admin (a real user is matched by email, or linked in the admin)."""
    profile = profile_for(user)
    if profile.admin is None:
        profile.admin = Admin.objects.live().order_by("name", "id").first()
        profile.save(update_fields=["admin"])
    return profile.admin
