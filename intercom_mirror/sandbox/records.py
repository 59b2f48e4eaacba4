"""Compact in-memory records of the sandbox workspace, and the text helpers they need.

Records hold only what varies between objects. Fields that are mere decoration
(location, user agent, avatar, social profiles, UTM tags) are derived at render
time from one random integer, `Contact.profile`, so that a million contacts can be
built quickly; an API write that sets one of them stores an override in `extra`.
Shared values (`custom`, the id tuples) are never mutated in place: writers build
new ones, so records may share them safely.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

EMPTY: tuple[str, ...] = ()

# (city, continent, country code, country, latitude, longitude, postal code, region, timezone)
LOCATIONS: tuple[tuple[Any, ...], ...] = (
    ("Dublin", "EU", "IRL", "Ireland", 53.3498, -6.2603, "D02", "Leinster", "Europe/Dublin"),
    ("London", "EU", "GBR", "United Kingdom", 51.5072, -0.1276, "EC1A", "England", "Europe/London"),
    ("Paris", "EU", "FRA", "France", 48.8566, 2.3522, "75001", "Île-de-France", "Europe/Paris"),
    ("München", "EU", "DEU", "Germany", 48.1351, 11.582, "80331", "Bayern", "Europe/Berlin"),
    ("São Paulo", "SA", "BRA", "Brazil", -23.5505, -46.6333, "01000-000", "São Paulo", "America/Sao_Paulo"),
    ("San Francisco", "NA", "USA", "United States", 37.7749, -122.4194, "94103", "California", "America/Los_Angeles"),
    ("New York", "NA", "USA", "United States", 40.7128, -74.006, "10001", "New York", "America/New_York"),
    ("Chicago", "NA", "USA", "United States", 41.8781, -87.6298, "60601", "Illinois", "America/Chicago"),
    ("Toronto", "NA", "CAN", "Canada", 43.6532, -79.3832, "M5H", "Ontario", "America/Toronto"),
    ("Ciudad de México", "NA", "MEX", "Mexico", 19.4326, -99.1332, "06000", "CDMX", "America/Mexico_City"),
    ("東京", "AS", "JPN", "Japan", 35.6762, 139.6503, "100-0001", "Tokyo", "Asia/Tokyo"),
    ("Shanghai", "AS", "CHN", "China", 31.2304, 121.4737, "200000", "Shanghai", "Asia/Shanghai"),
    ("Bengaluru", "AS", "IND", "India", 12.9716, 77.5946, "560001", "Karnataka", "Asia/Kolkata"),
    ("Singapore", "AS", "SGP", "Singapore", 1.3521, 103.8198, "018956", "Singapore", "Asia/Singapore"),
    ("Sydney", "OC", "AUS", "Australia", -33.8688, 151.2093, "2000", "New South Wales", "Australia/Sydney"),
    ("Auckland", "OC", "NZL", "New Zealand", -36.8485, 174.7633, "1010", "Auckland", "Pacific/Auckland"),
    ("Cape Town", "AF", "ZAF", "South Africa", -33.9249, 18.4241, "8001", "Western Cape", "Africa/Johannesburg"),
    ("Lagos", "AF", "NGA", "Nigeria", 6.5244, 3.3792, "100001", "Lagos", "Africa/Lagos"),
    ("Kraków", "EU", "POL", "Poland", 50.0647, 19.945, "30-001", "Małopolskie", "Europe/Warsaw"),
    ("Reykjavík", "EU", "ISL", "Iceland", 64.1466, -21.9426, "101", "Höfuðborgarsvæðið", "Atlantic/Reykjavik"),
    ("Zürich", "EU", "CHE", "Switzerland", 47.3769, 8.5417, "8001", "Zürich", "Europe/Zurich"),
    ("Seoul", "AS", "KOR", "South Korea", 37.5665, 126.978, "04524", "Seoul", "Asia/Seoul"),
    ("Tel Aviv", "AS", "ISR", "Israel", 32.0853, 34.7818, "61000", "Tel Aviv", "Asia/Jerusalem"),
    ("Madrid", "EU", "ESP", "Spain", 40.4168, -3.7038, "28001", "Comunidad de Madrid", "Europe/Madrid"),
)

USER_AGENTS: tuple[str, ...] = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_14_6) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/77.0.3865.90 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/76.0.3809.132 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:69.0) Gecko/20100101 Firefox/69.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 12_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/12.1.2 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 9; SM-G960F) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/77.0.3865.92 Mobile Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/12.1.2 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/77.0.3865.75 Safari/537.36",
)

UTM_SOURCES = ("google", "newsletter", "twitter", "producthunt", "partner-portal", "capterra")
UTM_CAMPAIGNS = ("spring_sale", "onboarding-v2", "black_friday", "webinar-sept", "Été 2019")
REFERRERS = (
    "https://www.google.com/",
    "https://news.ycombinator.com/item?id=20934216",
    "https://example.org/blog/how-we-scaled?utm=x&y=1",
    "https://t.co/abc123",
)

# Fields rendered from `Contact.profile`; an API write stores an override in `Contact.extra`.
DERIVED_FIELDS = (
    "avatar",
    "last_seen_ip",
    "user_agent_data",
    "location_data",
    "social_profiles",
    "referrer",
    "utm_campaign",
    "utm_content",
    "utm_medium",
    "utm_source",
    "utm_term",
    "marked_email_as_spam",
    "has_hard_bounced",
)


@dataclass(slots=True, eq=False)
class Contact:
    """A user (`type` "user"), lead ("contact") or visitor ("visitor")."""

    id: str
    type: str
    user_id: str | None
    email: str | None
    name: str | None
    phone: str | None
    pseudonym: str | None
    created_at: int
    updated_at: int
    signed_up_at: int | None
    remote_created_at: int | None
    last_request_at: int | None
    session_count: int
    profile: int | None
    custom: dict[str, Any]
    company_ids: tuple[str, ...] = EMPTY
    tag_ids: tuple[str, ...] = EMPTY
    segment_ids: tuple[str, ...] = EMPTY
    unsubscribed: bool = False
    extra: dict[str, Any] | None = None


@dataclass(slots=True, eq=False)
class Company:
    """A company; `members` holds the ids of the contacts attached to it."""

    id: str
    company_id: str
    name: str | None
    created_at: int
    updated_at: int
    remote_created_at: int | None = None
    last_request_at: int | None = None
    monthly_spend: float = 0
    session_count: int = 0
    size: int | None = None
    website: str | None = None
    industry: str | None = None
    plan: str | None = None
    custom: dict[str, Any] = field(default_factory=dict)
    tag_ids: tuple[str, ...] = EMPTY
    segment_ids: tuple[str, ...] = EMPTY
    members: set[str] = field(default_factory=set)


@dataclass(slots=True, eq=False)
class Admin:
    id: str
    name: str
    email: str
    team_ids: list[str] = field(default_factory=list)
    away_mode_enabled: bool = False
    away_mode_reassign: bool = False
    avatar_url: str | None = None


@dataclass(slots=True, eq=False)
class Team:
    id: str
    name: str
    admin_ids: list[str] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class Tag:
    id: str
    name: str
    created_at: int


@dataclass(slots=True, eq=False)
class Segment:
    id: str
    name: str
    person_type: str  # "user", "lead" or "company"
    created_at: int
    updated_at: int


@dataclass(slots=True, eq=False)
class Note:
    id: str
    created_at: int
    body: str
    author_id: str
    contact_id: str


@dataclass(slots=True, eq=False)
class Event:
    id: str
    seq: int
    event_name: str
    created_at: int
    contact_id: str
    metadata: dict[str, Any]


@dataclass(slots=True, eq=False)
class Part:
    """One conversation part; `author` and `assigned_to` are (type, id) pairs."""

    id: str
    part_type: str
    body: str | None
    created_at: int
    author: tuple[str, str | None]
    assigned_to: tuple[str, str | None] | None = None
    attachments: tuple[dict[str, Any], ...] = ()
    notified_at: int | None = None


@dataclass(slots=True, eq=False)
class Conversation:
    """A conversation; `customers` holds contact ids, the first one started it."""

    id: str
    created_at: int
    updated_at: int
    message: Part
    subject: str
    delivered_as: str
    customers: list[str]
    customer_types: dict[str, str]
    state: str = "open"
    read: bool = False
    waiting_since: int | None = None
    snoozed_until: int | None = None
    assignee: tuple[str, str | None] = ("nobody_admin", None)
    tags: list[tuple[str, int, str]] = field(default_factory=list)  # (tag id, applied_at, admin id)
    parts: list[Part] = field(default_factory=list)
    rating: dict[str, Any] | None = None
    first_reply_at: int | None = None


@dataclass(slots=True, eq=False)
class Subscription:
    id: str
    url: str
    topics: list[str]
    created_at: int
    updated_at: int
    hub_secret: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    active: bool = True
    sent: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class Job:
    """A bulk API job: one task per submission, and the items that failed."""

    id: str
    created_at: int
    updated_at: int
    closing_at: int
    tasks: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class DataAttribute:
    name: str
    model: str  # "customer" or "company"
    data_type: str
    label: str
    description: str
    custom: bool
    created_at: int
    api_writable: bool = True
    ui_writable: bool = True
    archived: bool = False
    admin_id: str | None = None
    options: list[str] | None = None


def derived_fields(c: Contact) -> dict[str, Any]:
    """Return the decoration fields of a contact, computed from its profile seed."""
    p = c.profile
    if p is None:
        values = _blank_derived()
    else:
        values = _profile_values(p, c.name)
    if c.extra:
        values.update(c.extra)
    return values


def _blank_derived() -> dict[str, Any]:
    return {
        "avatar": {"type": "avatar", "image_url": None},
        "last_seen_ip": None,
        "user_agent_data": None,
        "location_data": {},
        "social_profiles": {"type": "social_profile.list", "social_profiles": []},
        "referrer": None,
        "utm_campaign": None,
        "utm_content": None,
        "utm_medium": None,
        "utm_source": None,
        "utm_term": None,
        "marked_email_as_spam": False,
        "has_hard_bounced": False,
    }


def _profile_values(p: int, name: str | None) -> dict[str, Any]:
    loc = LOCATIONS[p % len(LOCATIONS)]
    handle = slug(name or "anon", sep="_") + str(p % 997)
    socials = []
    if (p >> 40) % 5 == 0:
        socials.append(
            {
                "type": "social_profile",
                "name": "twitter",
                "id": None,
                "username": handle,
                "url": f"https://twitter.com/{handle}",
            }
        )
    with_utm = (p >> 44) % 4 == 0
    return {
        "avatar": {
            "type": "avatar",
            "image_url": f"https://static.intercomassets.com/avatars/{p % 9_000_000}/square_128/{handle}.jpg"
            if (p >> 36) % 3 == 0
            else None,
        },
        "last_seen_ip": f"{(p >> 8) % 223 + 1}.{(p >> 16) % 256}.{(p >> 24) % 256}.{(p >> 32) % 254 + 1}",
        "user_agent_data": USER_AGENTS[(p >> 12) % len(USER_AGENTS)],
        "location_data": {
            "type": "location_data",
            "city_name": loc[0],
            "continent_code": loc[1],
            "country_code": loc[2],
            "country_name": loc[3],
            "latitude": loc[4],
            "longitude": loc[5],
            "postal_code": loc[6],
            "region_name": loc[7],
            "timezone": loc[8],
        },
        "social_profiles": {"type": "social_profile.list", "social_profiles": socials},
        "referrer": REFERRERS[(p >> 48) % len(REFERRERS)] if with_utm else None,
        "utm_campaign": UTM_CAMPAIGNS[(p >> 50) % len(UTM_CAMPAIGNS)] if with_utm else None,
        "utm_content": "hero-button" if with_utm else None,
        "utm_medium": ("cpc", "email", "social")[(p >> 52) % 3] if with_utm else None,
        "utm_source": UTM_SOURCES[(p >> 54) % len(UTM_SOURCES)] if with_utm else None,
        "utm_term": None,
        "marked_email_as_spam": (p >> 56) % 200 == 0,
        "has_hard_bounced": (p >> 58) % 150 == 0,
    }


_ASCII = str.maketrans(
    {
        "à": "a", "á": "a", "â": "a", "ä": "a", "ã": "a", "å": "a", "æ": "ae", "ç": "c", "è": "e", "é": "e",
        "ê": "e", "ë": "e", "ì": "i", "í": "i", "î": "i", "ï": "i", "ñ": "n", "ò": "o", "ó": "o", "ô": "o",
        "ö": "o", "õ": "o", "ø": "o", "ù": "u", "ú": "u", "û": "u", "ü": "u", "ý": "y", "ß": "ss", "ł": "l",
        "ś": "s", "ż": "z", "ź": "z", "ć": "c", "ń": "n", "ę": "e", "ą": "a", "ð": "d", "þ": "th", "ş": "s",
        "ğ": "g", "ı": "i", "ő": "o", "ű": "u", "č": "c", "š": "s", "ž": "z", "ř": "r",
    }
)  # fmt: skip


def slug(text: str, sep: str = ".") -> str:
    """Return an ASCII slug of text, for email local parts and handles."""
    ascii_text = text.lower().translate(_ASCII)
    words = re.findall(r"[a-z0-9]+", ascii_text)
    return sep.join(words) or "user"


_TAG = re.compile(r"<[^>]*>")
_BLOCK_END = re.compile(r"</(p|div|li|h[1-6])>|<br\s*/?>", re.I)
_SCRIPTS = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.I | re.S)


def to_html(body: str) -> str:
    """Return body as Intercom stores it: plain text is wrapped in <p>, HTML is kept as sent."""
    text = body.strip()
    if text.startswith("<"):
        return text
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()] or [""]
    return "".join(f"<p>{html.escape(p.strip(), quote=False)}</p>" for p in paragraphs)


def to_plaintext(body: str | None) -> str | None:
    """Return body with tags stripped and entities decoded, as `display_as=plaintext` does."""
    if body is None:
        return None
    text = _SCRIPTS.sub("", body)
    text = _BLOCK_END.sub("\n", text)
    text = _TAG.sub("", text)
    return html.unescape(text).strip()
