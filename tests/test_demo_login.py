from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


def run_demo_login(*args: str) -> str:
    out = StringIO()
    call_command("demo_login", *args, stdout=out)
    return out.getvalue()


def test_it_refuses_with_debug_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DJANGO_DEBUG=true.*--i-know-this-is-not-production"):
        run_demo_login()
    assert not get_user_model().objects.filter(username="demo").exists()


def test_it_creates_a_staff_member_of_support_staff_with_the_flag(settings):
    settings.DEBUG = False
    group, _ = Group.objects.get_or_create(name="Support staff")
    output = run_demo_login("--i-know-this-is-not-production")
    user = authenticate(username="demo", password="demo-password")
    assert user is not None and user.is_staff and not user.is_superuser
    assert list(user.groups.all()) == [group]
    assert "Demo login: demo / demo-password" in output and 'group "Support staff"' in output


def test_it_demotes_an_old_superuser_demo_login_in_debug_mode(settings):
    settings.DEBUG = True
    Group.objects.filter(name="Support staff").delete()
    get_user_model().objects.create_superuser("demo", "demo@example.com", "old-password")
    output = run_demo_login("--password", "new-password")
    user = authenticate(username="demo", password="new-password")
    assert user is not None and user.is_staff and not user.is_superuser
    assert 'no "Support staff" group yet' in output


@pytest.mark.django_db
def test_the_demo_user_acts_as_a_mirrored_admin(settings):
    from django.contrib.auth.models import User

    from intercom_mirror.models import Admin, StaffProfile

    settings.DEBUG = True
    Admin.objects.create(intercom_id="a1", name="Ada", email="ada@example.com")
    out = StringIO()
    call_command("demo_login", stdout=out)
    assert StaffProfile.objects.get(user=User.objects.get(username="demo")).admin_id == "a1"
    assert "writes as Intercom admin Ada" in out.getvalue()
