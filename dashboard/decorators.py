"""Access rules shared by every dashboard view."""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.urls import reverse_lazy

# Every dashboard page needs a logged-in staff user; others go to our own login page.
staff_required = staff_member_required(login_url=reverse_lazy("dash-login"))
