"""Build a deterministic, realistic sandbox workspace from a seed.

Contacts are generated in tight loops over precomputed pools, with one
`random.Random(seed)` and bit-slices of a couple of 64-bit draws per record, and
are stored as compact `Contact` records rendered lazily (see records.py).
Measured on the 2-core dev machine: 1,000,000 contacts (users=800_000,
leads=200_000, conversations=1000, plus the default 20,000 visitors and 80,000
companies) build in 10.2 s, using about 1.1 GB of memory.

The same seed and `now` give byte-identical JSON. With `now=None` the data is
anchored at the start of the current UTC day, so runs on the same day agree while
the workspace clock still follows real time; with an int `now` the workspace
clock starts at `now` and advances in real time.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from .records import (
    LOCATIONS,
    Admin,
    Company,
    Contact,
    Conversation,
    DataAttribute,
    Event,
    Note,
    Part,
    Segment,
    Tag,
    Team,
    slug,
    to_html,
)
from .state import Workspace
from .state.conversations import PARTS_CAP

DAY = 86400

FIRST_NAMES = (
    "Ada", "Alan", "Grace", "Linus", "Margaret", "Katherine", "Tim", "Barbara", "Dennis", "Frances", "Ken", "Radia",
    "Zoë", "Noé", "Chloé", "Léa", "Björn", "Søren", "Åsa", "Jürgen", "Małgorzata", "Łukasz", "Ștefan", "Niamh",
    "Siobhán", "Seán", "Aoife", "José", "María", "João", "Inês", "Çağla", "Emre", "Olumide", "Chidi", "Amara",
    "Priya", "Arjun", "Ananya", "Wei", "Mei", "Hiroshi", "Yuki", "Sakura", "Min-jun", "Ji-woo", "Thảo", "Nguyễn",
    "Omar", "Fatima", "Yosef", "Noa", "Dmitri", "Анна", "Ivan", "Olga", "Mateo", "Valentina", "Liam", "Emma",
)  # fmt: skip
LAST_NAMES = (
    "Lovelace", "Turing", "Hopper", "Torvalds", "Hamilton", "Johnson", "Berners-Lee", "Liskov", "Ritchie", "Allen",
    "Thompson", "Perlman", "Müller", "Øster", "Ångström", "Schröder", "Kowalczyk", "Wiśniewski", "Popescu", "Ní Bhriain",
    "O'Brien", "Mac Giolla", "García", "Fernández", "Gonçalves", "Yılmaz", "Öztürk", "Adébáyọ̀", "Okafor", "Mensah",
    "Sharma", "Iyer", "Zhang", "王", "李", "Tanaka", "山田", "Suzuki", "Kim", "Park", "Trần", "Haddad", "Cohen",
    "Levi", "Иванова", "Petrov", "Rossi", "Smith", "Murphy", "Nakamura", "Dubois", "Lefèvre", "Van der Berg", "Nørgaard",
)  # fmt: skip
DOMAINS = ("gmail.com", "outlook.com", "yahoo.co.uk", "example.com", "example.org", "proton.me", "web.de", "qq.com")
COMPANY_WORDS = (
    "Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka", "Tyrell", "Cyberdyne", "Soylent",
    "Aperture", "Blue Harbor", "Northwind", "Contoso", "Fabrikam", "Vandelay", "Pied Piper", "Massive Dynamic",
    "Société Lumière", "Café Müller", "Zürich Analytics", "東京テック", "北京数据", "Nordlys", "Ōkami", "Señor Tacos",
)  # fmt: skip
COMPANY_SUFFIXES = ("Inc.", "Ltd", "GmbH", "SA", "BV", "Labs", "Group", "株式会社", "& Co", "AG", "SAS", "LLC")
INDUSTRIES = ("Software", "Manufacturing", "Retail", "Finance", "Healthcare", "Education", "Logistics", "Média")
PLANS = ("Free", "Starter", "Pro", "Enterprise")
ADMIN_NAMES = (
    "Jane Doe", "Mårten Ström", "Aisling Ní Dhonnchadha", "陳美玲", "Carlos Peña", "Grace O'Malley", "Kwame Mensah",
    "Renée Lefèvre", "Ingrid Bergström", "Dev Patel", "Yuki Sato", "Fatma Kaya",
)  # fmt: skip
TEAM_NAMES = ("Support", "Sales", "Billing", "Onboarding", "VIP Success", "Équipe France", "Tier 2")
TAG_NAMES = (
    "VIP", "Beta tester", "churn-risk", "Enterprise", "Needs follow-up", "NPS: promoter", "Café owner", "Überfan",
    "早期用户", "🔥 hot lead", "invoice issue", "Partner",
)  # fmt: skip
SEGMENTS = (
    ("Active", "user"),
    ("New signups", "user"),
    ("Leads from pricing page", "lead"),
    ("Paying companies", "company"),
    ("Slipping away", "user"),
    ("Enterprise accounts", "company"),
    ("Trial leads", "lead"),
    ("Power users", "user"),
)
COLOURS = ("Lime", "Azure", "Coral", "Violet", "Amber", "Teal", "Crimson", "Olive", "Indigo", "Saffron")
ANIMALS = ("Duck", "Bike", "Otter", "Falcon", "Lynx", "Heron", "Panda", "Koala", "Badger", "Gecko")

OPENERS = (
    "<p>Hi, my invoice for September looks wrong — can you check? 🙏</p>",
    "<p>Bonjour, je n'arrive pas à me connecter depuis la mise à jour.</p>",
    "<p>您好，我们的账户无法导出数据。</p>",
    "<p>The export button does nothing. Steps:</p><ol><li>Open <b>Reports</b></li><li>Click <i>Export CSV</i></li></ol>",
    '<p>See <a href="https://example.com/screenshot.png">this screenshot</a> of the error.</p>',
    "<p>Can we upgrade to the <b>Pro</b> plan?</p><ul><li>10 seats</li><li>annual billing</li></ul>",
    "<p>Ünïcödé check: naïve café, Straße, Ελληνικά, русский, עברית, العربية, 한국어 ✨</p>",
    "<p>Hallo! Wie kann ich mein Passwort zurücksetzen?</p>",
    "<p>Is there an API for bulk imports? We have ~50k rows &amp; a tight deadline.</p>",
    "<p>Hey 👋 quick question about your pricing page</p>",
    "<p>ログインできません。助けてください 😢</p>",
    "<p>Our webhook stopped firing after we rotated the secret.</p><p>Any ideas?</p>",
)
CUSTOMER_REPLIES = (
    "<p>Thanks! That worked 🎉</p>",
    "<p>Still broken, sorry 😕</p>",
    "<p>Invoice number is <b>INV-2019-0042</b></p>",
    "<p>ありがとうございます！</p>",
    "<p>Merci beaucoup, c'est parfait.</p>",
    "<p>Here's the log:</p><pre>Error 500 at /export?id=42&amp;fmt=csv</pre>",
    "<p>Any update on this?</p>",
    "<p>Okay, I'll try that tomorrow.</p>",
)
ADMIN_REPLIES = (
    "<p>Thanks for reaching out! Let me look into that for you.</p>",
    '<p>Could you send us the <b>invoice number</b>? You\'ll find it under <a href="https://app.example.com/billing">Billing</a>.</p>',
    "<p>C'est corrigé ✅ — merci de votre patience !</p>",
    "<p>我们已经修复了这个问题。</p>",
    "<p>Here are the steps:</p><ol><li>Log out</li><li>Clear your cache</li><li>Log back in</li></ol>",
    "<p>I've refunded the difference — it should show up in 3–5 business days.</p>",
    "<p>Glad to help! Anything else? 😊</p>",
)
NOTE_BODIES = (
    "<p>Customer is on the legacy plan — check with billing before refunding.</p>",
    "<p>@Jane can you take this one? 🙏</p>",
    '<p>Reproduced on staging, bug filed as <a href="https://tracker.example.com/BUG-1234">BUG-1234</a>.</p>',
    "<p>VIP — respond within the hour.</p>",
)
HOSTILE = (
    "<p>Hello<script>alert(1)</script></p>",
    "<img src=x onerror=alert(document.cookie)>",
    "<p><a href=\"javascript:alert('xss')\">click me</a></p>",
    '<p onmouseover="alert(1)">hover me</p><iframe src="https://evil.example/"></iframe>',
    "<svg/onload=alert(1)><style>body{display:none}</style><p>hidden</p>",
)
USER_NOTES = (
    "Called them about the renewal.",
    "Wants a demo of the reporting add-on next week.",
    "Asked for GDPR data export — sent on request.",
    "Très satisfait du support, potentiel ambassadeur.",
)
EVENT_NAMES = (
    "invited-friend",
    "updated-plan",
    "exported-report",
    "viewed-pricing",
    "created-project",
    "commande-passée",
)
EVENT_METADATA: tuple[dict[str, Any], ...] = (
    {},
    {"invitee_email": "pi@example.org", "invite_code": "ADDAFRIEND"},
    {"order_total": {"amount": 3499, "currency": "eur"}, "order_id": "A-1024"},
    {"article": {"url": "https://example.com/blog/launch"}, "source": "newsletter"},
    {"plan": "pro", "seats": 12},
)
PART_COUNTS = (0, 1, 2, 2, 3, 3, 4, 4, 5, 6, 7, 8, 10, 12, 15, 20, 30)


def generate_workspace(
    seed: int = 1,
    users: int = 200,
    leads: int = 50,
    companies: int | None = None,
    conversations: int = 100,
    admins: int = 6,
    teams: int = 3,
    tags: int = 12,
    segments: int = 6,
    now: int | Callable[[], int] | None = None,
    visitors: int | None = None,
) -> Workspace:
    """Return a workspace filled with realistic, seed-determined data.

    `now` is the reference time (int) or the workspace clock (callable, also used
    as the reference). `companies` defaults to users // 10, `visitors` to leads // 10.
    """
    clock, ref = _clock(now)
    rng = random.Random(seed)
    ws = Workspace(now=clock, app_id=_app_id(rng), app_name=f"Sandbox {seed}", created_at=ref - 3 * 365 * DAY)
    admin_ids = _admins_and_teams(ws, rng, ref, max(1, admins), teams)
    _tags(ws, ref, tags)
    _segments(ws, rng, ref, segments)
    company_list = _companies(ws, rng, ref, users // 10 if companies is None else companies)
    _users(ws, rng, ref, users, company_list)
    _anonymous(ws, rng, ref, leads, "contact")
    _anonymous(ws, rng, ref, leads // 10 if visitors is None else visitors, "visitor")
    _conversations(ws, rng, ref, conversations, admin_ids)
    _notes(ws, rng, ref, admin_ids)
    _events(ws, rng, ref)
    _activity_logs(ws, rng, ref, admin_ids)
    _data_attributes(ws, ref, admin_ids[0])
    ws.changed()
    return ws


def _clock(now: int | Callable[[], int] | None) -> tuple[Callable[[], int], int]:
    """Return the workspace clock and the reference time the data is generated around."""
    if callable(now):
        return now, int(now())
    if now is not None:
        # The workspace believes it is `now` when built, and time then passes normally.
        ref, started = int(now), time.monotonic()
        return (lambda: ref + int(time.monotonic() - started)), ref
    real = int(time.time())
    return (lambda: int(time.time())), real - real % DAY


def _app_id(rng: random.Random) -> str:
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(8))


def _admins_and_teams(ws: Workspace, rng: random.Random, ref: int, n_admins: int, n_teams: int) -> list[str]:
    domain = "sandbox.example"
    for i in range(n_admins):
        name = ADMIN_NAMES[i % len(ADMIN_NAMES)] + ("" if i < len(ADMIN_NAMES) else f" {i // len(ADMIN_NAMES) + 1}")
        admin = Admin(id=ws.next_id("admin", 493_880), name=name, email=f"{slug(name)}{i}@{domain}")
        admin.avatar_url = (
            f"https://static.intercomassets.com/avatars/{admin.id}/square_128/avatar.png" if i % 2 else None
        )
        ws.admins[admin.id] = admin
    admin_list = list(ws.admins.values())
    if len(admin_list) >= 5:
        admin_list[4].away_mode_enabled = admin_list[4].away_mode_reassign = True
    for j in range(n_teams):
        team = Team(
            id=ws.next_id("admin", 493_880),
            name=TEAM_NAMES[j % len(TEAM_NAMES)] + ("" if j < len(TEAM_NAMES) else f" {j}"),
        )
        members = [a for k, a in enumerate(admin_list) if k % n_teams == j or (k == 0 and j == n_teams - 1)]
        for a in members:
            team.admin_ids.append(a.id)
            a.team_ids.append(team.id)
        ws.teams[team.id] = team
    return [a.id for a in admin_list]


def _tags(ws: Workspace, ref: int, n: int) -> None:
    for i in range(n):
        name = TAG_NAMES[i] if i < len(TAG_NAMES) else f"tag-{i + 1}"
        tag = Tag(id=ws.next_id("tag", 100_000), name=name, created_at=ref - (400 - i) * DAY)
        ws.tags[tag.id] = tag
        ws.tag_names[name.lower()] = tag.id


def _segments(ws: Workspace, rng: random.Random, ref: int, n: int) -> None:
    for i in range(n):
        name, person_type = SEGMENTS[i % len(SEGMENTS)]
        if i >= len(SEGMENTS):
            name = f"{name} {i // len(SEGMENTS) + 1}"
        created = ref - (500 - i) * DAY
        seg = Segment(
            id=ws.new_hex_id(created),
            name=name,
            person_type=person_type,
            created_at=created,
            updated_at=created + rng.randrange(30 * DAY),
        )
        ws.segments[seg.id] = seg


def _segment_pool(ws: Workspace, person_type: str) -> list[tuple[str, ...]]:
    """Return the segment-id tuples records draw from: mostly none, else one or two segments."""
    ids = [s.id for s in ws.segments.values() if s.person_type == person_type]
    pool: list[tuple[str, ...]] = [()] * 3
    pool += [(i,) for i in ids]
    pool += [(a, b) for a in ids for b in ids if a < b]
    return pool


def _tag_pool(ws: Workspace) -> list[tuple[str, ...]]:
    ids = list(ws.tags)
    pool: list[tuple[str, ...]] = [()] * 16
    pool += [(i,) for i in ids]
    pool += [(ids[k], ids[(k + 3) % len(ids)]) for k in range(len(ids))] if len(ids) > 3 else []
    return pool


def _custom_pool(rng: random.Random, ref: int) -> list[dict[str, Any]]:
    """Return shared custom-attribute dicts; records point at them and writers copy on change."""
    pool: list[dict[str, Any]] = [{}]
    for i in range(127):
        attrs: dict[str, Any] = {
            "plan_tier": ("free", "starter", "pro", "enterprise")[i % 4],
            "seats": rng.randint(1, 250),
        }
        if i % 3 == 0:
            attrs["beta_user"] = bool(i % 2)
        if i % 5 == 0:
            attrs["mrr"] = round(rng.uniform(0, 5000), 2)
        if i % 7 == 0:
            attrs["trial_ends_at"] = ref + rng.randrange(-30 * DAY, 30 * DAY)
        if i % 11 == 0:
            attrs["favourite_colour"] = ("vert émeraude", "藍色", "crimson", None)[i % 4]
        pool.append(attrs)
    return pool


def _companies(ws: Workspace, rng: random.Random, ref: int, n: int) -> list[Company]:
    for i, plan in enumerate(PLANS, start=1):
        ws.plans[plan] = str(i)
    customs: list[dict[str, Any]] = [
        {"paid_subscriber": bool(i % 2), "team_mates": i % 9, "region": ("EMEA", "AMER", "APAC")[i % 3]}
        for i in range(24)
    ]
    tag_pool = _tag_pool(ws)
    seg_pool = _segment_pool(ws, "company")
    n_words, n_suffix = len(COMPANY_WORDS), len(COMPANY_SUFFIXES)
    made = []
    for i in range(n):
        b = rng.getrandbits(64)
        created = ref - 30 * DAY - b % (900 * DAY)
        base = f"{COMPANY_WORDS[i % n_words]} {COMPANY_SUFFIXES[(i // n_words) % n_suffix]}"
        round_ = i // (n_words * n_suffix)
        name = base if round_ == 0 else f"{base} {round_ + 1}"
        co = Company(
            id=ws.new_hex_id(created),
            company_id=str(1000 + i),
            name=name,
            created_at=created,
            updated_at=min(ref, created + (b >> 20) % (400 * DAY)),
            remote_created_at=created - (b >> 30) % (200 * DAY),
            last_request_at=ref - (b >> 12) % (120 * DAY) if (b >> 40) % 10 else None,
            monthly_spend=((b >> 44) % 200) * 25,
            session_count=(b >> 50) % 5000,
            size=(5, 12, 50, 85, 250, 1200)[(b >> 52) % 6],
            website=f"https://www.{slug(name, sep='-')}.example",
            industry=INDUSTRIES[(b >> 55) % len(INDUSTRIES)],
            plan=PLANS[(b >> 58) % len(PLANS)],
            custom=customs[(b >> 24) % len(customs)],
            tag_ids=tag_pool[(b >> 8) % len(tag_pool)],
            segment_ids=seg_pool[(b >> 16) % len(seg_pool)],
        )
        ws.companies[co.id] = co
        ws.company_ids[co.company_id] = co.id
        made.append(co)
    return made


def _users(ws: Workspace, rng: random.Random, ref: int, n: int, company_list: list[Company]) -> None:
    """Generate users in one tight loop; this dominates the 1M-contact build time."""
    firsts = [(f, slug(f)) for f in FIRST_NAMES]
    lasts = [(last, slug(last, sep="")) for last in LAST_NAMES]
    nf, nl, nd = len(firsts), len(lasts), len(DOMAINS)
    customs = _custom_pool(rng, ref)
    ncust = len(customs)
    tag_pool, seg_pool = _tag_pool(ws), _segment_pool(ws, "user")
    ntag, nseg = len(tag_pool), len(seg_pool)
    # The last 5% of companies get no users, so `GET /companies` has some to leave out.
    attachable = company_list[: max(1, len(company_list) * 19 // 20)] if len(company_list) > 1 else company_list
    nco = len(attachable)
    table, user_ids, emails = ws.users, ws.user_ids, ws.emails
    machine = ws._machine
    seq = ws._hex_seq
    getrandbits = rng.getrandbits
    span = 730 * DAY
    prev_email = None
    for i in range(n):
        b = getrandbits(64)
        b2 = getrandbits(64)
        first, fslug = firsts[b % nf]
        last, lslug = lasts[(b >> 6) % nl]
        age = (b >> 12) % span + 3600
        created = ref - age
        last_req = created + b2 % age if (b >> 40) % 20 else None
        updated = min(ref, (last_req or created) + (b >> 44) % DAY)
        email = f"{fslug}.{lslug}{i}@{DOMAINS[(b >> 50) % nd]}"
        if i % 400 == 399 and prev_email:
            email = prev_email  # a few users share an email, as real workspaces do
        prev_email = email
        seq += 1
        cid = f"{created:08x}{machine}{seq:08x}"
        r = (b2 >> 40) % 100
        if r < 12 or not nco:
            cos: tuple[str, ...] = ()
        else:
            k = (b2 >> 47) % nco
            cos = (
                (attachable[k].id,)
                if r < 85
                else tuple(dict.fromkeys(attachable[(k + j * 7919) % nco].id for j in range(2 + (r >= 97))))
            )
        uid = str(100_000 + i) if (b >> 56) % 20 else None
        c = Contact(
            cid,
            "user",
            uid,
            email,
            f"{first} {last}",
            f"+353 87 {b2 % 10_000_000:07d}" if (b2 >> 24) % 4 == 0 else None,
            None,
            created,
            updated,
            created if (b >> 60) % 10 else None,
            created - 60,
            last_req,
            (b2 >> 28) % 300,
            b ^ b2,
            customs[(b2 >> 33) % ncust],
            cos,
            tag_pool[(b2 >> 52) % ntag],
            seg_pool[(b2 >> 58) % nseg],
            (b2 >> 20) % 25 == 0,
        )
        table[cid] = c
        if uid is not None:
            user_ids[uid] = cid
        emails.setdefault(email, []).append(cid)
        for co_id in cos:
            ws.companies[co_id].members.add(cid)
    ws._hex_seq = seq


def _anonymous(ws: Workspace, rng: random.Random, ref: int, n: int, type_: str) -> None:
    """Generate leads (`contact`) or visitors: generated UUID user_ids and pseudonyms."""
    firsts = [(f, slug(f)) for f in FIRST_NAMES]
    nf = len(firsts)
    customs: list[dict[str, Any]] = [{}] + [
        {"lead_source": ("pricing page", "webinar", "chat", "salon Paris")[i % 4], "budget": (i * 500) % 7000}
        for i in range(15)
    ]
    tag_pool = _tag_pool(ws)
    seg_pool = _segment_pool(ws, "lead") if type_ == "contact" else [()]
    table = ws.leads if type_ == "contact" else ws.visitors
    anon_ids, emails, machine = ws.anon_ids, ws.emails, ws._machine
    nloc, ncol, nani, ntag, nseg = len(LOCATIONS), len(COLOURS), len(ANIMALS), len(tag_pool), len(seg_pool)
    seq = ws._hex_seq
    getrandbits = rng.getrandbits
    span = 365 * DAY
    for i in range(n):
        b = getrandbits(64)
        u = getrandbits(128)
        h = f"{u:032x}"
        uid = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[u % 4]}{h[17:20]}-{h[20:]}"
        age = (b >> 8) % span + 600
        created = ref - age
        first, fslug = firsts[b % nf]
        is_lead = type_ == "contact"
        email = f"{fslug}{i}.lead@{DOMAINS[(b >> 30) % len(DOMAINS)]}" if is_lead and (b >> 34) % 10 < 6 else None
        profile = u >> 64
        seq += 1
        cid = f"{created:08x}{machine}{seq:08x}"
        c = Contact(
            cid,
            type_,
            uid,
            email,
            first if is_lead and (b >> 38) % 2 else None,
            f"+1 415 555 {(b >> 40) % 10000:04d}" if is_lead and (b >> 54) % 5 == 0 else None,
            f"{COLOURS[(b >> 42) % ncol]} {ANIMALS[(b >> 46) % nani]} from {LOCATIONS[profile % nloc][0]}",
            created,
            min(ref, created + (b >> 20) % (5 * DAY)),
            None,
            None,
            min(ref, created + (b >> 26) % (3 * DAY)),
            1 + (b >> 50) % 6,
            profile,
            customs[(b >> 56) % len(customs)] if is_lead else {},
            (),
            tag_pool[(b >> 60) % ntag] if is_lead else (),
            seg_pool[(u >> 4) % nseg],
        )
        table[cid] = c
        anon_ids[uid] = cid
        if email:
            emails.setdefault(email, []).append(cid)
    ws._hex_seq = seq


# A long conversation carries, in the 300th of the parts the API shows (its 500 most recent), a word found nowhere
# else: the demo's proof that search reaches deep into a thread (search "QX" in `make demo`). The word is added to
# that part's text, with no random draw, so the rest of the workspace is unchanged. An event there (no text) has none.
LANDMARK_PART = 300


def add_landmark(conv: Conversation) -> None:
    shown = conv.parts[-PARTS_CAP:]
    if len(shown) >= LANDMARK_PART and shown[LANDMARK_PART - 1].body:
        shown[LANDMARK_PART - 1].body += f"<p>The courier's reference is <b>{landmark_word(conv.id)}</b>.</p>"


def landmark_word(conversation_id: str) -> str:
    return f"QX{conversation_id}"


class _Timeline:
    """Builds one conversation's parts in time order while tracking its state like the API does."""

    def __init__(
        self, ws: Workspace, rng: random.Random, conv: Conversation, admin_ids: list[str], counter: list[int]
    ) -> None:
        self.ws, self.rng, self.conv, self.admin_ids, self.counter = ws, rng, conv, admin_ids, counter

    def _body(self, pool: tuple[str, ...]) -> str:
        self.counter[0] += 1
        if self.counter[0] % 37 == 5:  # a steady trickle of hostile HTML for the product's sanitiser
            return HOSTILE[self.counter[0] % len(HOSTILE)]
        return self.rng.choice(pool)

    def admin(self) -> str:
        kind, who = self.conv.assignee
        return who if kind == "admin" and who else self.rng.choice(self.admin_ids)

    def add(
        self,
        part_type: str,
        t: int,
        author: tuple[str, str | None],
        body: str | None = None,
        assigned_to: tuple[str, str | None] | None = None,
    ) -> None:
        part = Part(self.ws.next_id("part", 100_000), part_type, body, t, author, assigned_to, notified_at=t)
        self.conv.parts.append(part)
        self.conv.updated_at = t

    def customer_says(self, t: int) -> None:
        conv = self.conv
        who = conv.customers[-1] if len(conv.customers) > 1 and self.rng.random() < 0.3 else conv.customers[0]
        self.add("comment", t, (conv.customer_types[who], who), self._body(CUSTOMER_REPLIES))
        if conv.state != "open":
            conv.state, conv.snoozed_until = "open", None
        conv.waiting_since = conv.waiting_since or t
        conv.read = False
        conv.first_reply_at = conv.first_reply_at or t

    def admin_says(self, t: int) -> None:
        self.add("comment", t, ("admin", self.admin()), self._body(ADMIN_REPLIES))
        self.conv.waiting_since, self.conv.read = None, True

    def note(self, t: int) -> None:
        self.add("note", t, ("admin", self.admin()), self._body(NOTE_BODIES))

    def assign(self, t: int, target: tuple[str, str | None]) -> None:
        self.add("assignment", t, ("admin", self.admin()), None, target)
        self.conv.assignee = target

    def close(self, t: int) -> None:
        self.add("close", t, ("admin", self.admin()))
        self.conv.state, self.conv.snoozed_until, self.conv.waiting_since = "closed", None, None

    def snooze(self, t: int, until: int) -> None:
        self.add("snoozed", t, ("admin", self.admin()))
        self.conv.state, self.conv.snoozed_until = "snoozed", until

    def reopen(self, t: int) -> None:
        self.add("open", t, ("admin", self.admin()))
        self.conv.state, self.conv.snoozed_until = "open", None


def _conversations(ws: Workspace, rng: random.Random, ref: int, n: int, admin_ids: list[str]) -> None:
    users = list(ws.users.values())
    leads = list(ws.leads.values())
    if not users and not leads:
        return
    team_ids = list(ws.teams)
    big = set(rng.sample(range(n), max(2 if n >= 100 else 0, n // 200))) if n else set()
    counter = [0]
    for i in range(n):
        pool = users if users and (not leads or rng.random() < 0.7) else leads
        customer = rng.choice(pool)
        conv = _new_conversation(ws, rng, ref, customer, i in big, counter)
        if rng.random() < 0.03 and users:
            _add_participant(ws, rng, conv, users, admin_ids)
        _play(ws, rng, ref, conv, admin_ids, team_ids, i in big, counter)
        add_landmark(conv)
        ws.conversations[conv.id] = conv


def _new_conversation(
    ws: Workspace, rng: random.Random, ref: int, customer: Contact, big: bool, counter: list[int]
) -> Conversation:
    low = 35 * DAY if big else 0
    created = ref - rng.randrange(low, 90 * DAY) - 60
    kind = "user" if customer.type == "user" else "lead"
    admin_started = rng.random() < 0.1
    counter[0] += 1
    body = HOSTILE[counter[0] % len(HOSTILE)] if counter[0] % 37 == 5 else rng.choice(OPENERS)
    author = ("admin", rng.choice(list(ws.admins))) if admin_started else (kind, customer.id)
    message = Part(ws.next_id("part", 100_000), "comment", body, created, author)
    if rng.random() < 0.05:
        message.attachments = (
            {
                "type": "upload",
                "name": "screenshot.png",
                "url": "https://uploads.example.com/screenshot.png",
                "content_type": "image/png",
                "filesize": 48213,
                "width": 1280,
                "height": 800,
            },
        )
    conv = Conversation(
        id=ws.next_id("conversation", 10_000),
        created_at=created,
        updated_at=created,
        message=message,
        subject=rng.choice(("", "", "", "Re: Invoice question", "Feedback on the new dashboard")),
        delivered_as="admin_initiated" if admin_started else "customer_initiated",
        customers=[customer.id],
        customer_types={customer.id: kind},
        read=admin_started,
        waiting_since=None if admin_started else created,
        first_reply_at=None if admin_started else created,
    )
    if admin_started:
        conv.assignee = ("admin", author[1])
    return conv


def _add_participant(
    ws: Workspace, rng: random.Random, conv: Conversation, users: list[Contact], admin_ids: list[str]
) -> None:
    other = rng.choice(users)
    if other.id in conv.customers or not other.email:
        return
    conv.customers.append(other.id)
    conv.customer_types[other.id] = "user"
    part = Part(
        ws.next_id("part", 100_000), "participant_added", None, conv.created_at + 30, ("admin", rng.choice(admin_ids))
    )
    conv.parts.append(part)
    conv.updated_at = part.created_at


def _play(
    ws: Workspace,
    rng: random.Random,
    ref: int,
    conv: Conversation,
    admin_ids: list[str],
    team_ids: list[str],
    big: bool,
    counter: list[int],
) -> None:
    """Play out a conversation: replies, notes, assignment, then a final open/closed/snoozed disposition."""
    tl = _Timeline(ws, rng, conv, admin_ids, counter)
    n_parts = rng.randint(520, 700) if big else rng.choice(PART_COUNTS)
    start = conv.updated_at + 1
    end = min(ref - 1, start + (rng.randint(20 * DAY, 34 * DAY) if big else rng.randint(600, 6 * DAY)))
    times = sorted(rng.randint(start, max(start, end)) for _ in range(n_parts + 2))
    target = _assignment_target(rng, admin_ids, team_ids)
    if target is not None and n_parts:
        tl.assign(times.pop(0), target)
    customer_last = conv.delivered_as == "customer_initiated"
    for t in times[:n_parts]:
        roll = rng.random()
        if customer_last:
            (tl.admin_says if roll < 0.65 else tl.note if roll < 0.8 else tl.customer_says)(t)
        elif roll < 0.6:
            tl.customer_says(t)
        elif roll < 0.7:
            tl.note(t)
        elif roll < 0.85:
            tl.admin_says(t)
        elif roll < 0.95:
            tl.close(t)
        else:
            tl.snooze(t, t + 3600)
        customer_last = tl.conv.parts[-1].author[0] in ("user", "lead") if tl.conv.parts else customer_last
    _finish(tl, rng, ref, times[-1] if times else conv.updated_at)


def _assignment_target(rng: random.Random, admin_ids: list[str], team_ids: list[str]) -> tuple[str, str | None] | None:
    roll = rng.random()
    if roll < 0.55:
        return ("admin", rng.choice(admin_ids))
    if roll < 0.75 and team_ids:
        return ("team", rng.choice(team_ids))
    return None


def _finish(tl: _Timeline, rng: random.Random, ref: int, t: int) -> None:
    conv = tl.conv
    t = max(t, conv.updated_at)
    roll = rng.random()
    if roll < 0.45:
        tl.close(t)
        if rng.random() < 0.3:
            who = conv.customers[0]
            conv.rating = {
                "rating": rng.randint(1, 5),
                "remark": rng.choice((None, "Super rapide, merci !", "Took a while but solved 👍", "")),
                "created_at": t,
                "customer": {"type": conv.customer_types[who], "id": who},
                "teammate": {"type": "admin", "id": tl.admin()},
            }
    elif roll < 0.6:
        # A day past the reference, so the snooze is still running wherever in the day `now=None` anchors it.
        tl.snooze(t, ref + DAY + rng.randint(3600, 6 * DAY))
    elif conv.state != "open":
        tl.reopen(t)
    elif rng.random() < 0.3:
        conv.read = True
    if rng.random() < 0.2 and tl.ws.tags:
        conv.tags.append(
            (rng.choice(list(tl.ws.tags)), rng.randint(conv.created_at, conv.updated_at), rng.choice(tl.admin_ids))
        )


def _notes(ws: Workspace, rng: random.Random, ref: int, admin_ids: list[str]) -> None:
    users = list(ws.users.values())
    for _ in range(min(len(users) // 20, 5000)):
        c = rng.choice(users)
        created = rng.randint(c.created_at, ref)
        note = Note(ws.next_id("note"), created, to_html(rng.choice(USER_NOTES)), rng.choice(admin_ids), c.id)
        ws.notes[note.id] = note


def _events(ws: Workspace, rng: random.Random, ref: int) -> None:
    users = list(ws.users.values())
    seq = 0
    for _ in range(min(len(users) // 20, 20_000)):
        c = rng.choice(users)
        for _ in range(rng.randint(1, 6)):
            seq += 1
            created = max(c.created_at, ref - rng.randrange(120 * DAY))
            e = Event(
                ws.next_id("event", 1_000_000), seq, rng.choice(EVENT_NAMES), created, c.id, rng.choice(EVENT_METADATA)
            )
            ws.events_by_contact.setdefault(c.id, []).append(e)
    ws._counters["event_seq"] = seq


def _activity_logs(ws: Workspace, rng: random.Random, ref: int, admin_ids: list[str]) -> None:
    kinds = (
        ("admin_login_success", "{name} logged in."),
        ("app_name_change", "{name} changed the app name."),
        ("message_state_change", "{name} changed a message state."),
        ("admin_away_mode_change", "{name} changed their away mode."),
        ("conversation_topic_change", "{name} changed a conversation topic."),
    )
    for i in range(40):
        admin = ws.admins[rng.choice(admin_ids)]
        kind, text = kinds[i % len(kinds)]
        ws.activity_logs.append(
            {
                "id": f"{rng.getrandbits(128):032x}",
                "performed_by": {
                    "type": "admin",
                    "id": admin.id,
                    "email": admin.email,
                    "ip": f"10.0.{i}.{rng.randint(1, 254)}",
                },
                "metadata": {"before": "Old", "after": "New"} if kind != "admin_login_success" else {},
                "created_at": ref - rng.randrange(90 * DAY),
                "activity_type": kind,
                "activity_description": text.format(name=admin.name),
            }
        )


def _data_attributes(ws: Workspace, ref: int, admin_id: str) -> None:
    custom = (
        ("customer", "plan_tier", "string", ["free", "starter", "pro", "enterprise"]),
        ("customer", "seats", "integer", None),
        ("customer", "beta_user", "boolean", None),
        ("customer", "mrr", "float", None),
        ("customer", "trial_ends_at", "date", None),
        ("customer", "favourite_colour", "string", None),
        ("customer", "lead_source", "string", None),
        ("customer", "budget", "integer", None),
        ("company", "paid_subscriber", "boolean", None),
        ("company", "team_mates", "integer", None),
        ("company", "region", "string", ["EMEA", "AMER", "APAC"]),
    )
    for i, (model, name, data_type, options) in enumerate(custom):
        ws.data_attributes[(model, name)] = DataAttribute(
            name=name, model=model, data_type=data_type, label=name.replace("_", " ").capitalize(), description="",
            custom=True, created_at=ref - (300 - i) * DAY, admin_id=admin_id, options=options,
        )  # fmt: skip
    ws.data_attributes[("customer", "legacy_score")] = DataAttribute(
        name="legacy_score", model="customer", data_type="integer", label="Legacy score", description="No longer used",
        custom=True, created_at=ref - 700 * DAY, archived=True, admin_id=admin_id,
    )  # fmt: skip
