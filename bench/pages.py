"""Pages at scale: fill a mirror the size of a large workspace, then time the staff pages on it.

    python bench/pages.py [--database postgres://user@host/name] [--scale 1.0] [--keep] [--requests 200]

Fills a mirror with 1,000,000 contacts (20 % leads), 50,000 companies, 200,000 conversations and
5,000,000 parts (times --scale), 50 admins, 8 teams, 30 tags, 6 segments and 20,000 notes, then
the search index, and measures each dashboard page in-process with Django's test client (server
time: middleware, view, template), as a staff user who is linked to an admin and is not a
superuser. Prints p50 / p95 / p99 per page, the median time spent executing SQL (the rest is
Python: middleware, view, template), SQL queries per request, met/MISSED against the
targets (PostgreSQL: p95 <= 50 ms a page, <= 100 ms a search, at most 10 queries, folder counts
in one query), and the plan (EXPLAIN ANALYZE on PostgreSQL) of the slowest queries of each miss.

The fill is the fastest honest path: every row is built from an Intercom-shaped payload by the
model's own `from_payload` (typed columns, raw JSON, hash), written with COPY on PostgreSQL (the
secondary indexes dropped first and built again after, as for any bulk load) and with executemany
in one transaction per table on SQLite. The search index is then built from the mirror's rows by
the index's own functions (`intercom_mirror.search.index.SOURCES`: the same entries
`intercom_search_rebuild` writes), COPYed on PostgreSQL (its tsvector column is computed by the
server as for any INSERT) and inserted then rebuilt as FTS5 on SQLite. Each phase is timed.

Databases
- `--database postgres://user@host/name`: the database `name` is created when it does not exist,
  used when it exists and holds no table, and dropped and created again when it holds a previous
  fill of this bench (a `bench_pages_fill` table says so). A database with other tables is refused:
  this never drops anyone's data. With --keep a previous fill of the same scale and seed is reused
  as it is (no refill), and the database is left in place at the end; without it, it is dropped.
- no --database (or `sqlite`): a temporary SQLite file at --scale 0.1 by default; with --keep it is
  /tmp/intercom_pages_<scale>.sqlite3, reused when it holds a fill of the same scale and seed.

Every request is preceded by a cache clear, so none is helped by the inbox's five-second folder
count cache or its one-minute team list. Each page is warmed up with --warmup requests first (not
counted). Requests vary within a page where it makes sense (other contacts, companies, tags,
teams, rare words, senders), so the database's caches are warm as in use but no single row is hot.
"""

from __future__ import annotations

import argparse
import html
import math
import os
import random
import re
import statistics
import sys
import tempfile
import time
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# Production settings (DEBUG off: no query log, real templates), a throwaway key, no HTTPS redirect
# (the test client speaks plain HTTP), the test client's host allowed, and no .env file read.
os.environ["DJANGO_DEBUG"] = "false"
os.environ["DJANGO_ENV_FILE"] = "/dev/null"
os.environ["DJANGO_SECRET_KEY"] = "bench-only-not-a-secret-" + "x" * 40
os.environ["DJANGO_SECURE_SSL_REDIRECT"] = "false"
os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"
os.environ.setdefault("LOG_LEVEL", "ERROR")

FULL = {"contacts": 1_000_000, "companies": 50_000, "conversations": 200_000, "parts": 5_000_000, "notes": 20_000}
ADMINS, TEAMS, TAGS, SEGMENTS = 50, 8, 30, 6
MARKER = "bench_pages_fill"
FILL_VERSION = 2  # bumped whenever the generated workspace changes: a kept fill of another version is made again
PAGE_TARGET_MS, SEARCH_TARGET_MS, MAX_QUERIES = 50.0, 100.0, 10
DEEP = 1_000  # rows before a deep inbox page
DAY = 86_400


# --- the text of a realistic workspace -------------------------------------------------------------

LANGUAGES = {  # weight, customer lines, admin lines
    "en": (
        60,
        [
            "Hi, I can't log in to my account since this morning.",
            "The invoice for March shows the wrong amount, can you help?",
            "Is there a way to export all my data as CSV?",
            "I was charged twice for the same subscription.",
            "The mobile app crashes when I open the settings page.",
            "How do I add a new team member to my workspace?",
            "I need a refund for the last payment, please.",
            "Our integration with Slack stopped sending notifications.",
            "Can you help me change the billing address on my account?",
            "Thanks, that worked! One more question though.",
            "It still doesn't work after clearing the cache.",
            "When will the new reporting feature be available?",
            "I'd like to cancel my subscription at the end of the month.",
            "The password reset email never arrives.",
            "Could you check why my credit card was declined?",
        ],
        [
            "Thanks for reaching out! I've reset your password, please try again.",
            "Sorry about that. I've issued a refund, it should appear within 5 business days.",
            "Could you send me a screenshot of the error you see?",
            "You can export your data from Settings, then Data, then Export as CSV.",
            "I've escalated this to our engineering team and will get back to you.",
            "Happy to help! To add a teammate, open Settings and click Invite.",
            "The duplicate charge has been reversed. Anything else I can help with?",
            "Please try logging out and back in, then let me know if the issue persists.",
            "Good news: the fix has been deployed, can you confirm it works for you now?",
            "I've updated the billing address, the next invoice will show it.",
            "To reset your password, use the link on the login page.",
        ],
    ),
    "fr": (
        8,
        [
            "Bonjour, je n'arrive plus à me connecter à mon compte.",
            "La facture de mars indique un montant erroné.",
            "Comment puis-je exporter mes données ?",
            "J'ai été débité deux fois pour le même abonnement.",
            "Merci, ça fonctionne maintenant !",
        ],
        [
            "Merci de nous avoir contactés ! J'ai réinitialisé votre mot de passe.",
            "Désolé pour la gêne occasionnée, le remboursement est en cours.",
            "Pourriez-vous m'envoyer une capture d'écran de l'erreur ?",
        ],
    ),
    "de": (
        8,
        [
            "Hallo, ich kann mich seit heute Morgen nicht mehr anmelden.",
            "Die Rechnung für März zeigt den falschen Betrag.",
            "Wie kann ich meine Daten als CSV exportieren?",
            "Mir wurde das Abonnement doppelt berechnet.",
            "Danke, jetzt funktioniert es wieder!",
        ],
        [
            "Danke für Ihre Nachricht! Ich habe Ihr Passwort zurückgesetzt.",
            "Entschuldigung, die Rückerstattung wurde veranlasst.",
            "Könnten Sie mir einen Screenshot der Fehlermeldung schicken?",
        ],
    ),
    "es": (
        8,
        [
            "Hola, no puedo iniciar sesión en mi cuenta desde esta mañana.",
            "La factura de marzo muestra un importe incorrecto.",
            "¿Cómo puedo exportar mis datos?",
            "Me cobraron dos veces la misma suscripción.",
            "¡Gracias, ya funciona!",
        ],
        [
            "¡Gracias por escribirnos! He restablecido tu contraseña.",
            "Disculpa las molestias, el reembolso ya está en camino.",
            "¿Podrías enviarme una captura de pantalla del error?",
        ],
    ),
    "pt": (
        4,
        ["Olá, não consigo entrar na minha conta.", "Fui cobrado duas vezes pela mesma assinatura."],
        ["Obrigado pelo contato! Redefini a sua senha.", "O reembolso já foi processado."],
    ),
    "ja": (
        4,
        [
            "ログインできません。助けてください。",
            "請求書の金額が間違っています。",
            "データをエクスポートする方法を教えてください。",
        ],
        ["お問い合わせありがとうございます。パスワードをリセットしました。", "返金手続きを行いました。"],
    ),
    "ru": (
        4,
        ["Здравствуйте, не могу войти в свой аккаунт.", "С меня дважды списали оплату за подписку."],
        ["Спасибо за обращение! Я сбросил ваш пароль.", "Возврат средств оформлен."],
    ),
    "ar": (
        2,
        ["مرحبا، لا أستطيع تسجيل الدخول إلى حسابي.", "تم خصم المبلغ مرتين من بطاقتي."],
        ["شكرا لتواصلك معنا! لقد أعدنا تعيين كلمة المرور.", "تم إصدار استرداد المبلغ."],
    ),
    "zh": (
        2,
        ["你好，我无法登录我的账户。", "三月的发票金额不对。"],
        ["感谢您的联系！我已经重置了您的密码。", "退款已经处理。"],
    ),
}
NOTES = [
    "Customer is on the legacy plan, check with billing before refunding.",
    "Possible duplicate of the Slack integration bug, linked to the engineering ticket.",
    "VIP account: reply within the hour.",
    "Asked for a credit card update twice already.",
    "Churn risk: mentioned a competitor on the last call.",
]
HOSTILE = [
    "<script>alert(document.cookie)</script><p>hello, is anyone there?</p>",
    '<p>see <img src=x onerror="alert(1)"> attached</p>',
    '<p><a href="javascript:alert(1)">click here</a> for the error</p>',
    '<p style="position:fixed;top:0">urgent!!</p><iframe src="https://evil.example"></iframe>',
]
LOG_LINE = "2026-11-02T10:22:31Z ERROR worker[{n}]: connection reset by peer while syncing batch {n} (retry 3/5)"
NAMES = {  # (display, ascii for emails)
    "en": (
        ["James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "David", "Sarah", "Chris"],
        ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Wilson", "Taylor", "Lee"],
    ),
    "fr": (["Camille", "Léa", "Chloé", "Hugo", "Élodie", "Théo", "Zoé"], ["Martin", "Dubois", "Lefèvre", "Moreau"]),
    "de": (["Jürgen", "Günter", "Lena", "Jonas", "Lukas", "Anna"], ["Müller", "Schmidt", "Schäfer", "Weber"]),
    "es": (["José", "María", "Lucía", "Martín", "Sofía", "Álvaro"], ["García", "Fernández", "López", "Pérez"]),
    "pt": (["João", "Ana", "Gonçalo", "Inês"], ["Silva", "Santos", "Conceição", "Gonçalves"]),
    "ja": (["太郎", "花子", "健太", "美咲"], ["山田", "佐藤", "鈴木", "高橋"]),
    "ru": (["Иван", "Мария", "Алексей", "Ольга"], ["Иванов", "Смирнов", "Кузнецов", "Попов"]),
    "ar": (["محمد", "فاطمة", "أحمد", "مريم"], ["الحسن", "الخطيب", "المصري", "حداد"]),
    "zh": (["伟", "芳", "娜", "强"], ["王", "李", "张", "刘"]),
}
ASCII = str.maketrans("éèêëàâäîïôöûüùçñáíóúãõ", "eeeeaaaiioouuucnaiouao")
DOMAINS = ["gmail.com", "outlook.com", "yahoo.com", "icloud.com", "gmx.de", "orange.fr", "yandex.ru", "qq.com"]
WORDS = ["Nord", "Blue", "Acme", "Apex", "Lumen", "Vertex", "Cobalt", "Juniper", "Helix", "Quartz", "Orbit"]
KINDS_OF = ["Labs", "Logistics", "Software", "GmbH", "SAS", "Analytics", "Health", "Studio", "Foods", "Bank"]
PLANS = ["free", "starter", "pro", "business", "enterprise"]
TEAM_NAMES = ["Billing", "Tier 2", "Onboarding", "Enterprise", "EMEA", "APAC", "Bugs", "VIP"]
TAG_NAMES = [
    "vip", "churn-risk", "beta", "enterprise", "billing", "bug", "feature-request", "gdpr", "trial", "onboarding",
    "refund", "mobile", "api", "slack", "invoice", "priority", "partner", "education", "nonprofit", "sso",
    "security", "migration", "upsell", "nps-detractor", "nps-promoter", "webinar", "legacy-plan", "reseller",
    "high-value", "do-not-contact",
]  # fmt: skip
SYLLABLES = ["ka", "zu", "ri", "mo", "vel", "tor", "qui", "nax", "bel", "dro", "fen", "gli", "jas", "lum", "pex", "rho"]


def stamp(t: int) -> datetime:
    return datetime.fromtimestamp(t, tz=UTC)


@dataclass
class Sizes:
    scale: float
    contacts: int
    companies: int
    conversations: int
    parts: int
    notes: int

    @classmethod
    def at(cls, scale: float) -> Sizes:
        return cls(scale, **{k: max(1, round(v * scale)) for k, v in FULL.items()})


# --- writing rows ------------------------------------------------------------------------------------


class Writer:
    """Write rows (tuples in the given column order) into a table, as fast as the database allows."""

    def __init__(self, connection) -> None:
        self.connection = connection
        self.postgres = connection.vendor == "postgresql"
        self.counts: dict[str, int] = {}

    def write(self, table: str, columns: list[str], rows: Iterable[tuple]) -> int:
        n = self.copy(table, columns, rows) if self.postgres else self.insert(table, columns, rows)
        self.counts[table] = self.counts.get(table, 0) + n
        return n

    def copy(self, table: str, columns: list[str], rows: Iterable[tuple]) -> int:
        n = 0
        self.connection.ensure_connection()
        raw = self.connection.connection  # the psycopg connection
        quoted = ", ".join(f'"{c}"' for c in columns)
        with raw.cursor() as cursor, cursor.copy(f'COPY "{table}" ({quoted}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)
                n += 1
        raw.commit()
        return n

    def insert(self, table: str, columns: list[str], rows: Iterable[tuple], batch: int = 20_000) -> int:
        n = 0
        self.connection.ensure_connection()
        sql = f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES ({", ".join("?" * len(columns))})'
        raw = self.connection.connection  # the sqlite3 connection: its executemany, without Django's wrapper
        raw.execute("BEGIN")
        chunk: list[tuple] = []
        for row in rows:
            chunk.append(tuple(sqlite_value(v) for v in row))
            if len(chunk) >= batch:
                raw.executemany(sql, chunk)
                n += len(chunk)
                chunk = []
        raw.executemany(sql, chunk)
        raw.execute("COMMIT")
        return n + len(chunk)


def sqlite_value(value):
    """Return a value as Django stores it on SQLite (datetimes as naive UTC text)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
    return value


def row_tuple(row, attnames: list[str], json_columns: set[str]) -> tuple:
    """Return an unsaved model row as a tuple of column values (JSON encoded; raw as from_payload encoded it)."""
    json_text = JSON_TEXT[0]
    values = row.__dict__
    out = []
    for name in attnames:
        value = values[name]
        if name == "raw":
            value = getattr(row, "raw_json", None) or json_text(value)
        elif name in json_columns:
            value = json_text(value)
        out.append(value)
    return tuple(out)


JSON_TEXT: list = []


def model_columns(model) -> tuple[list[str], list[str], set[str]]:
    """Return (columns, attnames, JSON attnames) of a model's concrete fields."""
    from django.db import models

    from intercom_mirror.models import json_text

    JSON_TEXT[:] = [json_text]

    fields = model._meta.concrete_fields
    return (
        [f.column for f in fields],
        [f.attname for f in fields],
        {f.attname for f in fields if isinstance(f, models.JSONField)},
    )


# --- the workspace ------------------------------------------------------------------------------------


@dataclass
class Plan:
    """What the fill decided, kept for choosing the requests (ids, rare words, threads)."""

    ref: int
    admin_ids: list[str] = field(default_factory=list)
    team_ids: list[str] = field(default_factory=list)
    tag_ids: list[str] = field(default_factory=list)
    rare: dict[str, list[str]] = field(default_factory=dict)  # rare word -> conversation intercom ids


def contact_intercom_id(i: int) -> str:
    return f"5f{i:022x}"


def company_intercom_id(i: int) -> str:
    return f"5c{i:022x}"


def conversation_intercom_id(i: int) -> str:
    return str(100_000_000 + i)


class Fill:
    """Generate the workspace (deterministic for a seed) and write it through a Writer."""

    def __init__(self, sizes: Sizes, seed: int, writer: Writer) -> None:
        self.sizes, self.seed, self.writer = sizes, seed, writer
        self.rng = random.Random(seed)
        self.plan = Plan(ref=int(time.time()) // 3600 * 3600)
        self.synced = stamp(self.plan.ref)
        self.languages = list(LANGUAGES)
        self.weights = [LANGUAGES[k][0] for k in self.languages]

    # small tables ------------------------------------------------------------------------------

    def write_model(self, model, payloads: Iterable[tuple[int, dict, dict]]) -> int:
        """Write rows built by model.from_payload: (primary key, payload, extra column values)."""
        columns, attnames, json_columns = model_columns(model)

        def rows() -> Iterator[tuple]:
            for pk, payload, extra in payloads:
                row = model.from_payload(payload, id=pk, synced_at=self.synced, source=2, **extra)
                yield row_tuple(row, attnames, json_columns)

        return self.writer.write(model._meta.db_table, columns, rows())

    def links(self, relation, pairs: Iterable[tuple[int, int]]) -> int:
        through = relation.remote_field.through
        columns = [relation.m2m_column_name(), relation.m2m_reverse_name()]
        return self.writer.write(through._meta.db_table, columns, pairs)

    def small_tables(self) -> None:
        from intercom_mirror.models import Admin, Segment, Tag, Team

        rng, ref = self.rng, self.plan.ref
        self.plan.admin_ids = [str(4_000_000 + 37 * i) for i in range(ADMINS)]
        self.plan.team_ids = [str(5_000_000 + i) for i in range(TEAMS)]
        self.plan.tag_ids = [str(6_000_000 + i) for i in range(TAGS)]
        admins = []
        for i, admin_id in enumerate(self.plan.admin_ids):
            lang = rng.choices(self.languages, self.weights)[0]
            first, last = rng.choice(NAMES[lang][0]), rng.choice(NAMES[lang][1])
            email = f"agent{i}@support.example.com"
            payload = {
                "type": "admin", "id": admin_id, "name": f"{first} {last}", "email": email,
                "away_mode_enabled": i % 17 == 3, "away_mode_reassign": False, "has_inbox_seat": True,
                "team_ids": [], "avatar": {"image_url": f"https://static.example.com/avatars/{admin_id}.png"},
            }  # fmt: skip
            admins.append((i + 1, payload, {}))
        self.write_model(Admin, admins)
        teams = [
            (i + 1, {"type": "team", "id": team_id, "name": TEAM_NAMES[i], "admin_ids": []}, {})
            for i, team_id in enumerate(self.plan.team_ids)
        ]
        self.write_model(Team, teams)
        self.links(
            Team._meta.get_field("admins"),
            [(t + 1, a + 1) for t in range(TEAMS) for a in range(ADMINS) if (a + t) % 6 == 0],
        )
        tags = [
            (i + 1, {"type": "tag", "id": tag_id, "name": TAG_NAMES[i]}, {})
            for i, tag_id in enumerate(self.plan.tag_ids)
        ]
        self.write_model(Tag, tags)
        segments = []
        for i, name in enumerate(["Active", "New", "Slipping away", "Paying", "Leads this week", "Power users"]):
            payload = {
                "type": "segment", "id": f"5a{i:022x}", "name": name, "person_type": "contact" if i == 4 else "user",
                "created_at": ref - 400 * DAY, "updated_at": ref - 3 * DAY,
            }  # fmt: skip
            segments.append((i + 1, payload, {}))
        self.write_model(Segment, segments)

    # companies and contacts --------------------------------------------------------------------------

    def plan_contacts(self) -> None:
        """Decide each contact's companies, tags and segments (compact arrays: a million contacts)."""
        rng, n, nc = self.rng, self.sizes.contacts, self.sizes.companies
        self.company_a, self.company_b = array("i", [-1]) * n, array("i", [-1]) * n
        self.tag_bits, self.segment_bits = array("l", [0]) * n, array("b", [0]) * n
        tag_weights = [1 / (k + 1) ** 1.1 for k in range(TAGS)]  # a few big tags, a long tail of small ones
        for i in range(n):
            lead = i % 5 == 4
            if not lead and rng.random() < 0.85:
                self.company_a[i] = int(nc * rng.random() ** 2)  # some companies hold thousands of users
                if rng.random() < 0.1 and (other := rng.randrange(nc)) != self.company_a[i]:
                    self.company_b[i] = other
            if rng.random() < 0.4:
                bits = 0
                for tag in rng.choices(range(TAGS), tag_weights, k=rng.choice((1, 1, 2, 3))):
                    bits |= 1 << tag
                self.tag_bits[i] = bits
            if rng.random() < 0.3:
                self.segment_bits[i] = 1 << (4 if lead else rng.choice((0, 1, 2, 3, 5)))
        self.user_counts = array("i", [0]) * nc
        for i in range(n):
            for c in (self.company_a[i], self.company_b[i]):
                if c >= 0:
                    self.user_counts[c] += 1

    def companies(self) -> None:
        from intercom_mirror.models import Company

        rng, ref = self.rng, self.plan.ref

        def payloads():
            for i in range(self.sizes.companies):
                name = f"{WORDS[i % len(WORDS)]} {KINDS_OF[(i // len(WORDS)) % len(KINDS_OF)]} {i}"
                created = ref - rng.randrange(30, 1500) * DAY
                payload = {
                    "type": "company", "id": company_intercom_id(i), "company_id": f"c-{i}", "name": name,
                    "plan": {"type": "plan", "id": str(PLANS.index(p := rng.choice(PLANS))), "name": p},
                    "monthly_spend": round(rng.random() ** 3 * 20_000, 2), "session_count": rng.randrange(5000),
                    "user_count": self.user_counts[i], "size": rng.choice((5, 20, 50, 200, 1000, 5000)),
                    "website": f"https://{name.split()[0].lower()}{i}.example.com", "industry": rng.choice(KINDS_OF),
                    "created_at": created, "updated_at": created + rng.randrange(30) * DAY,
                    "remote_created_at": created - DAY,
                    "last_request_at": ref - rng.randrange(90 * DAY) if rng.random() < 0.8 else None,
                    "custom_attributes": {"account_manager": rng.choice(NAMES["en"][0]), "seats": rng.randrange(1, 500)},
                    "tags": {"type": "tag.list", "tags": []}, "segments": {"type": "segment.list", "segments": []},
                }  # fmt: skip
                yield i + 1, payload, {}

        self.write_model(Company, payloads())
        tags = Company._meta.get_field("tags")
        self.links(tags, ((i + 1, i % TAGS + 1) for i in range(0, self.sizes.companies, 7)))

    def contacts(self) -> None:
        from intercom_mirror.models import Contact

        rng, ref, n = self.rng, self.plan.ref, self.sizes.contacts
        self.emails: dict[int, str] = {}

        def payloads():
            for i in range(n):
                lead = i % 5 == 4
                lang = rng.choices(self.languages, self.weights)[0]
                first, last = rng.choice(NAMES[lang][0]), rng.choice(NAMES[lang][1])
                has_name = not lead or rng.random() < 0.3
                handle = (
                    f"{first}.{last}".lower().translate(ASCII) if lang in ("en", "fr", "de", "es", "pt") else "user"
                )
                company = self.company_a[i]
                domain = (
                    f"{WORDS[company % len(WORDS)].lower()}{company}.example.com"
                    if company >= 0 and i % 2
                    else rng.choice(DOMAINS)
                )
                email = f"{handle}{i}@{domain}" if not lead or rng.random() < 0.5 else None
                created = ref - int(1100 * DAY * rng.random() ** 0.8) - 60
                seen = ref - int(400 * DAY * rng.random() ** 3) if rng.random() < 0.7 else None
                companies = [c for c in (company, self.company_b[i]) if c >= 0]
                tags = [t for t in range(TAGS) if self.tag_bits[i] >> t & 1]
                payload = {
                    "type": "contact" if lead else "user", "id": contact_intercom_id(i),
                    "user_id": None if lead else f"u-{i}", "anonymous": lead, "email": email,
                    "phone": f"+1 415 555 {i % 10000:04d}" if rng.random() < 0.15 else None,
                    "name": f"{first} {last}" if has_name and lang not in ("ja", "zh") else (f"{last}{first}" if has_name else None),
                    "pseudonym": f"{rng.choice(WORDS)} Fox from Paris" if lead else None,
                    "avatar": {"type": "avatar", "image_url": None},
                    "location_data": {"type": "location_data", "city_name": "Paris", "country_name": "France"},
                    "created_at": created, "signed_up_at": None if lead else created,
                    "updated_at": max(created, seen or created), "last_request_at": seen,
                    "session_count": rng.randrange(200), "unsubscribed_from_emails": rng.random() < 0.05,
                    "user_agent_data": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15",
                    "custom_attributes": {"plan": rng.choice(PLANS), "seats": rng.randrange(1, 50), "signup_source": rng.choice(("ads", "seo", "referral"))},
                    "companies": {"type": "company.list", "companies": [{"type": "company", "id": company_intercom_id(c)} for c in companies]},
                    "tags": {"type": "tag.list", "tags": [{"type": "tag", "id": self.plan.tag_ids[t], "name": TAG_NAMES[t]} for t in tags]},
                    "segments": {"type": "segment.list", "segments": []},
                    "social_profiles": {"type": "social_profile.list", "social_profiles": []},
                }  # fmt: skip
                extra = {"deleted_at": self.synced} if i % 331 == 7 else {}
                yield i + 1, payload, extra

        self.write_model(Contact, payloads())
        self.links(Contact._meta.get_field("companies"), self.contact_links(self.company_a, self.company_b))
        tag_pairs = (
            (i + 1, t + 1) for i in range(n) if self.tag_bits[i] for t in range(TAGS) if self.tag_bits[i] >> t & 1
        )
        self.links(Contact._meta.get_field("tags"), tag_pairs)
        segment_pairs = (
            (i + 1, s + 1)
            for i in range(n)
            if self.segment_bits[i]
            for s in range(SEGMENTS)
            if self.segment_bits[i] >> s & 1
        )
        self.links(Contact._meta.get_field("segments"), segment_pairs)

    @staticmethod
    def contact_links(a: array, b: array) -> Iterator[tuple[int, int]]:
        for i in range(len(a)):
            for c in (a[i], b[i]):
                if c >= 0:
                    yield i + 1, c + 1

    # conversations and their parts -------------------------------------------------------------------

    def plan_conversations(self) -> None:
        """Decide each conversation's number of parts: a long tail (lognormal), some threads past 500."""
        rng, n = self.rng, self.sizes.conversations
        raw = [max(1, int(rng.lognormvariate(2.6, 1.1))) for _ in range(n)]
        # Threads of 500-520 parts to open (a few dozen whatever the scale): the thread page's case.
        self.threads = rng.sample(range(n), min(n, max(20, round(100 * self.sizes.scale))))
        for j in self.threads:
            raw[j] = 500 + rng.randrange(21)
        threads = set(self.threads)
        rest = sum(c for j, c in enumerate(raw) if j not in threads)
        factor = (self.sizes.parts - sum(raw[j] for j in threads)) / rest
        counts = array("i", (c if j in threads else max(1, min(800, round(c * factor))) for j, c in enumerate(raw)))
        self.part_counts = counts

    def conversations(self) -> None:
        from intercom_mirror.models import Conversation, ConversationPart

        rng, ref, n = self.rng, self.plan.ref, self.sizes.conversations
        rare_words = self.rare_words(max(200, round(2_000 * self.sizes.scale)))
        rare_rate = min(1.0, 5 * len(rare_words) / self.sizes.parts)
        staff_admin = self.plan.admin_ids[0]
        conv_cols, conv_attnames, conv_json = model_columns(Conversation)
        part_cols, part_attnames, part_json = model_columns(ConversationPart)
        parts_file = tempfile.TemporaryFile("w+b")  # noqa: SIM115 - parts wait here while the conversations are copied
        part_pk = [0]
        self.conversation_tags: list[tuple[int, int]] = []

        def body_of(lang: str, customer: bool, k: int) -> str:
            if k % 311 == 17:
                return HOSTILE[k % len(HOSTILE)]
            lines = LANGUAGES[lang][1 if customer else 2]
            text = rng.choice(lines)
            if rng.random() < 0.3:
                text += " " + rng.choice(lines)
            if rng.random() < rare_rate:
                word = rng.choice(rare_words)
                text += f" Reference {word}."
                self.plan.rare.setdefault(word, []).append(current[0])
            if k % 97 == 3:
                return f'<p>{html.escape(text)}</p><p>See <a href="https://help.example.com/articles/{k}" target="_blank">this article</a>.</p>'
            if k % 89 == 5:
                return f'<p>{html.escape(text)}</p><p><img src="https://uploads.example.com/s/{k}.png"></p>'
            if k % 499 == 11:
                log = "\n".join(LOG_LINE.format(n=k + m) for m in range(40))
                return f"<p>{html.escape(text)}</p><pre>{html.escape(log)}</pre>"
            return f"<p>{html.escape(text)}</p>" if k % 3 else f"<p>{html.escape(text)}<br></p>"

        current = [""]
        admin_weights = [10.0] + [90 / (ADMINS - 1)] * (ADMINS - 1)  # the staff's admin is the busiest

        def payloads():
            for j in range(n):
                intercom_id = conversation_intercom_id(j)
                current[0] = intercom_id
                lang = rng.choices(self.languages, self.weights)[0]
                r = rng.random()
                state = "closed" if r < 0.8 else ("open" if r < 0.94 else "snoozed")
                span = 730 * DAY if state == "closed" else 30 * DAY
                created = ref - int(span * rng.random() ** 1.5) - 3600
                customer_index = min(self.sizes.contacts - 1, int(self.sizes.contacts * rng.random() ** 1.5))
                customer_type = "contact" if customer_index % 5 == 4 else "user"
                customer = {"type": customer_type, "id": contact_intercom_id(customer_index)}
                r = rng.random()
                unassigned, to_team = (0.2, 0.55) if state != "closed" else (0.05, 0.25)
                if r < unassigned:
                    assignee = {"type": "nobody_admin", "id": None}
                elif r < to_team:
                    assignee = {"type": "team", "id": rng.choice(self.plan.team_ids)}
                else:
                    assignee = {"type": "admin", "id": rng.choices(self.plan.admin_ids, admin_weights)[0]}
                t = created
                waiting, last_customer, last_admin = created, created, None
                count = self.part_counts[j]
                # Gaps between parts that end the thread before now, so no two threads pile up on one moment.
                gap = max(2, min(6 * 3600 if count < 100 else 1800, (ref - 120 - created) // count))
                for k in range(count):
                    t += rng.randrange(1, gap + 1)
                    part_pk[0] += 1
                    last = k == count - 1
                    assigned_to = None
                    if last and state == "closed":
                        part_type, author = "close", {"type": "admin", "id": assignee["id"] or staff_admin}
                    elif last and state == "snoozed":
                        part_type, author = "snoozed", {"type": "admin", "id": assignee["id"] or staff_admin}
                    elif rng.random() < 0.05:
                        part_type, author = "assignment", {"type": "admin", "id": rng.choice(self.plan.admin_ids)}
                        assigned_to = assignee if assignee["id"] else None
                    elif rng.random() < 0.08:
                        part_type, author = "note", {"type": "admin", "id": rng.choice(self.plan.admin_ids)}
                    elif rng.random() < 0.5:
                        part_type, author = "comment", customer
                    else:
                        part_type, author = (
                            "comment",
                            {"type": "admin", "id": assignee["id"] if assignee["type"] == "admin" else staff_admin},
                        )
                    body = None
                    if part_type in ("comment", "note"):
                        body = body_of(lang if part_type == "comment" else "en", author is customer, part_pk[0])
                        if part_type == "note":
                            body = f"<p>{rng.choice(NOTES)}</p>"
                        if author is customer:
                            waiting, last_customer = waiting or t, t
                        else:
                            waiting, last_admin = (
                                (None if part_type == "comment" else waiting),
                                (t if part_type == "comment" else last_admin),
                            )
                    part = {
                        "type": "conversation_part", "id": str(part_pk[0]), "part_type": part_type, "body": body,
                        "created_at": t, "updated_at": t, "notified_at": t, "assigned_to": assigned_to,
                        "author": author, "attachments": [], "external_id": None, "redacted": False,
                    }  # fmt: skip
                    row = ConversationPart.from_payload(
                        part, id=part_pk[0], conversation_id=j + 1, synced_at=self.synced, source=2
                    )
                    parts_file.write(encode_row(row_tuple(row, part_attnames, part_json)))
                opening = body_of(lang, True, j)
                payload = {
                    "type": "conversation", "id": intercom_id, "created_at": created, "updated_at": t,
                    "waiting_since": waiting if state != "closed" else None,
                    "snoozed_until": ref + rng.randrange(1, 72) * 3600 if state == "snoozed" else None,
                    "conversation_message": {
                        "type": "conversation_message", "id": str(900_000_000 + j), "delivered_as": "customer_initiated",
                        "subject": "<p>Invoice question</p>" if rng.random() < 0.1 else "", "body": opening,
                        "author": customer, "attachments": [], "url": None,
                    },
                    "user": customer, "customers": [customer], "assignee": assignee, "open": state != "closed",
                    "state": state, "read": state == "closed" or rng.random() < 0.5,
                    "tags": {"type": "tag.list", "tags": []},
                    "conversation_rating": None, "statistics": None,
                    "conversation_parts": {"type": "conversation_part.list", "total_count": count},
                }  # fmt: skip
                extra = {
                    "waiting_since": stamp(waiting) if waiting and state != "closed" else None,
                    "last_customer_part_at": stamp(last_customer),
                    "last_admin_reply_at": stamp(last_admin) if last_admin else None,
                    "parts_total": count, "parts_synced": count, "parts_fetched_for": stamp(t),
                    "deleted_at": self.synced if j % 503 == 11 else None,
                }  # fmt: skip
                if rng.random() < 0.1:
                    self.conversation_tags.append((j + 1, rng.randrange(TAGS) + 1))
                row = Conversation.from_payload(
                    Conversation.without_parts(payload), id=j + 1, synced_at=self.synced, source=2, **extra
                )
                yield row_tuple(row, conv_attnames, conv_json)

        self.writer.write(Conversation._meta.db_table, conv_cols, payloads())
        self.links(Conversation._meta.get_field("tags"), self.conversation_tags)
        parts_file.seek(0)
        self.writer.write(ConversationPart._meta.db_table, part_cols, decode_rows(parts_file))
        parts_file.close()

    def rare_words(self, k: int) -> list[str]:
        """Return k made-up words of four syllables (none is a prefix of another word of the corpus)."""
        space = len(SYLLABLES) ** 4
        words = []
        for number in random.Random(self.seed + 1).sample(range(space), k):
            word = ""
            for _ in range(4):
                number, s = divmod(number, len(SYLLABLES))
                word += SYLLABLES[s]
            words.append(word)
        return words

    def notes(self) -> None:
        from intercom_mirror.models import Note

        rng, ref = self.rng, self.plan.ref

        def payloads():
            for i in range(self.sizes.notes):
                contact = int(self.sizes.contacts * rng.random() ** 1.5)
                payload = {
                    "type": "note", "id": str(70_000_000 + i), "created_at": ref - rng.randrange(700 * DAY),
                    "body": f"<p>{rng.choice(NOTES)}</p>", "user": {"type": "user", "id": contact_intercom_id(contact)},
                    "author": {"type": "admin", "id": rng.choice(self.plan.admin_ids)},
                }  # fmt: skip
                yield i + 1, payload, {}

        self.write_model(Note, payloads())


# Parts wait in a temporary file while the conversations are written (one COPY at a time):
# one pickled tuple per row is simplest and fast enough.
def encode_row(row: tuple) -> bytes:
    import pickle

    data = pickle.dumps(row, protocol=5)
    return len(data).to_bytes(4, "little") + data


def decode_rows(handle) -> Iterator[tuple]:
    import pickle

    while header := handle.read(4):
        yield pickle.loads(handle.read(int.from_bytes(header, "little")))  # noqa: S301 - our own temporary file


# --- the search index ---------------------------------------------------------------------------------


def fill_search_index(writer: Writer) -> dict[str, int]:
    """Build every entry from the mirror's rows with the index's own functions, and write them."""
    from django.db import connection

    from intercom_mirror.search import backends
    from intercom_mirror.search.index import SOURCES

    written = {}
    for model, source in SOURCES.items():
        meta = model._meta
        columns = ", ".join(meta.pk.column if c == "pk" else meta.get_field(c).column for c in source.columns)
        sql = f"SELECT {columns} FROM {meta.db_table} ORDER BY id"  # noqa: S608 - identifiers of our models

        def docs(sql=sql, source=source) -> Iterator[tuple]:
            for row in stream(sql):
                doc = source.build(source.kind, *row)
                if doc.body:  # as index_docs: no entry for an empty text
                    yield doc.values()

        written[str(meta.verbose_name_plural)] = writer.write(backends.ENTRY, list(backends.COLUMNS), docs())
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {backends.FTS} ({backends.FTS}) VALUES ('rebuild')")
    return written


def stream(sql: str, size: int = 5_000) -> Iterator[tuple]:
    """Yield the rows of a query without holding them all (a server-side cursor on PostgreSQL)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        import psycopg

        # A connection of its own: the entries are COPYed on Django's meanwhile, which a COPY keeps busy.
        with (
            psycopg.connect(**connection.get_connection_params()) as reader,
            reader.cursor(name="bench_stream") as cursor,
        ):
            cursor.itersize = size
            cursor.execute(sql)
            yield from cursor
    else:
        cursor = connection.connection.execute(sql)
        while rows := cursor.fetchmany(size):
            yield from rows


# --- databases -------------------------------------------------------------------------------------------


def admin_url(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/postgres"))


def prepare_postgres(url: str, keep: bool, scale: float, seed: int) -> bool:
    """Make the database ready; return True when it already holds a fill to reuse."""
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    if not name or name == "postgres":
        raise SystemExit("Name a database of its own in the URL (postgres://user@host/name).")
    with psycopg.connect(admin_url(url), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    if exists:
        with psycopg.connect(url, autocommit=True) as conn:
            tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
            if MARKER in tables:
                try:
                    row = conn.execute(f"SELECT scale, seed, version FROM {MARKER}").fetchone()  # noqa: S608
                except psycopg.Error:  # a fill by an older version of this bench
                    row = None
                if keep and row and tuple(row) == (scale, seed, FILL_VERSION):
                    return True
            elif tables:
                raise SystemExit(f"The database {name} holds tables that are not this bench's: refusing to touch it.")
        if not tables:
            return False
    with psycopg.connect(admin_url(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return False


def drop_postgres(url: str) -> None:
    import psycopg

    with psycopg.connect(admin_url(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{urlsplit(url).path.lstrip("/")}"')


def sqlite_reusable(path: Path, scale: float, seed: int) -> bool:
    import sqlite3

    if not path.exists():
        return False
    try:
        with sqlite3.connect(path) as conn:
            row = conn.execute(f"SELECT scale, seed, version FROM {MARKER}").fetchone()  # noqa: S608
    except sqlite3.Error:
        row = None
    if row and tuple(row) == (scale, seed, FILL_VERSION):
        return True
    path.unlink()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return False


BIG_TABLES = [
    "intercom_mirror_contact", "intercom_mirror_company", "intercom_mirror_conversation",
    "intercom_mirror_conversationpart", "intercom_mirror_searchentry", "intercom_mirror_contact_companies",
    "intercom_mirror_contact_tags", "intercom_mirror_contact_segments", "intercom_mirror_note",
    "intercom_mirror_conversation_tags", "intercom_mirror_company_tags",
]  # fmt: skip


def drop_secondary_indexes() -> list[str]:
    """Drop the big tables' indexes that are not constraints (PostgreSQL); return how to make them again."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' AND i.tablename = ANY(%s)"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
            [BIG_TABLES],
        )
        found = cursor.fetchall()
        for name, _ in found:
            cursor.execute(f'DROP INDEX "{name}"')
    return [definition for _, definition in found]


def fill(sizes: Sizes, seed: int) -> dict[str, float]:
    """Migrate and fill the database; return each phase's seconds."""
    from django.apps import apps
    from django.core.management import call_command
    from django.core.management.color import no_style
    from django.db import connection

    seconds: dict[str, float] = {}
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    seconds["migrate"] = time.perf_counter() - started
    postgres = connection.vendor == "postgresql"
    definitions = []
    if postgres:
        with connection.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '1GB'")
        definitions = drop_secondary_indexes()
    writer = Writer(connection)
    work = Fill(sizes, seed, writer)
    phase = time.perf_counter()
    work.small_tables()
    work.plan_contacts()
    work.companies()
    work.contacts()
    seconds["companies and contacts (with links)"] = time.perf_counter() - phase
    phase = time.perf_counter()
    work.plan_conversations()
    work.conversations()
    work.notes()
    seconds["conversations, parts and notes"] = time.perf_counter() - phase
    phase = time.perf_counter()
    fill_search_index(writer)
    seconds["search index entries" + (" (tsvector computed by the server)" if postgres else " and FTS5 rebuild")] = (
        time.perf_counter() - phase
    )
    phase = time.perf_counter()
    with connection.cursor() as cursor:
        for definition in definitions:
            cursor.execute(definition)
        models = [m for m in apps.get_app_config("intercom_mirror").get_models(include_auto_created=True)]
        for statement in connection.ops.sequence_reset_sql(no_style(), models):
            cursor.execute(statement)
    if postgres:
        seconds[f"indexes built again ({len(definitions)})"] = time.perf_counter() - phase
        phase = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        seconds["VACUUM ANALYZE"] = time.perf_counter() - phase
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        seconds["ANALYZE"] = time.perf_counter() - phase
    seconds["total"] = time.perf_counter() - started
    record_fill(sizes.scale, seed, seconds, work.plan)
    return seconds


def record_fill(scale: float, seed: int, seconds: dict[str, float], plan: Plan) -> None:
    """Remember the fill (its scale, seed, times and the rare words' conversations) for a reuse with --keep."""
    import json

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {MARKER} (scale float, seed integer, version integer, seconds text, plan text)")
        state = {
            "ref": plan.ref,
            "admin_ids": plan.admin_ids,
            "team_ids": plan.team_ids,
            "tag_ids": plan.tag_ids,
            "rare": plan.rare,
        }
        cursor.execute(
            f"INSERT INTO {MARKER} VALUES (%s, %s, %s, %s, %s)",
            [scale, seed, FILL_VERSION, json.dumps(seconds), json.dumps(state)],
        )  # noqa: S608


def recorded_fill() -> tuple[dict[str, float], Plan]:
    import json

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT seconds, plan FROM {MARKER}")  # noqa: S608
        seconds, state = cursor.fetchone()
    return json.loads(seconds), Plan(**json.loads(state))


# --- measuring ----------------------------------------------------------------------------------------------


@dataclass
class Case:
    """One page to time: a URL per request number, and what its body must show."""

    name: str
    url: Callable[[int], str]
    check: Callable[[int, str], str | None]  # returns what is wrong, or None
    search: bool = False
    inbox: bool = False
    note: str = ""


@dataclass
class Result:
    case: Case
    times: list[float]
    queries: list[int]
    slowest: list[dict]
    counts_queries: int | None = None
    failures: list[str] = field(default_factory=list)
    sql: list[float] = field(default_factory=list)  # seconds spent in the database, per request

    def pct(self, p: float) -> float:
        ordered = sorted(self.times)
        return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))] * 1000

    @property
    def target(self) -> float:
        return SEARCH_TARGET_MS if self.case.search else PAGE_TARGET_MS

    @property
    def met(self) -> bool:
        counts_ok = self.counts_queries in (None, 1)
        return not self.failures and self.pct(95) <= self.target and max(self.queries) <= MAX_QUERIES and counts_ok


def link(intercom_id: str, kind: str = "conversations") -> str:
    return f"/{kind}/{intercom_id}/"


def cases(plan: Plan, rng: random.Random) -> list[Case]:
    """Return every page to measure, with the ids each request uses (chosen once, from the filled mirror)."""
    from django.db.models import Count, Q

    from dashboard.inbox.queries import SORTS, folder_filter
    from intercom_mirror.models import Admin, Company, Contact, Conversation, ConversationPart, Tag

    admin = Admin.objects.get(intercom_id=plan.admin_ids[0])
    latest = SORTS["latest"]
    found: list[Case] = []

    def inbox_cases(label: str, slugs: list[str], state: str) -> None:
        firsts, deeps = [], []
        for slug in slugs:
            _, condition = folder_filter(slug, admin)
            ordered = Conversation.objects.live().filter(condition, state=state).order_by(*latest.order_by())
            rows = list(ordered.values_list("intercom_id", flat=True)[:1])
            query = {"state": state} if state != "open" else {}
            if rows:
                firsts.append((f"/inbox/{slug}/?{urlencode(query)}", rows[0]))
            around = list(ordered.only("id", "intercom_id", "updated_at")[DEEP - 1 : DEEP + 1])
            if len(around) == 2:
                after = latest.cursor_of(around[0])
                deeps.append((f"/inbox/{slug}/?{urlencode({**query, 'after': after})}", around[1].intercom_id))
        for depth, pairs in (("first page", firsts), (f"{DEEP:,} rows deep", deeps)):
            if not pairs:
                found.append(Case(f"inbox {label} {state}, {depth}", None, None, inbox=True, note="folder too small"))
                continue
            found.append(
                Case(
                    f"inbox {label} {state}, {depth}",
                    lambda i, p=pairs: p[i % len(p)][0],
                    lambda i, body, p=pairs: None if link(p[i % len(p)][1]) in body else "expected row missing",
                    inbox=True,
                )
            )

    box = ["invoice", '"credit card"', "password refund", "thanks account", "mot de passe", "help"]
    found.append(
        Case(
            'inbox search box, All closed (invoice, "credit card", password refund, …)',
            lambda i: "/inbox/all/?" + urlencode({"state": "closed", "q": box[i % len(box)]}),
            lambda i, body: None if 'rel="next"' in body or 'name="ids"' in body else "no rows and no next page",
            inbox=True,
        )
    )
    for state in ("open", "snoozed", "closed"):
        inbox_cases("mine", ["mine"], state)
        inbox_cases("unassigned", ["unassigned"], state)
        inbox_cases("all", ["all"], state)
        inbox_cases("team-* (8 teams)", [f"team-{t}" for t in plan.team_ids], state)

    threads = list(
        Conversation.objects.live()
        .filter(parts_synced__gte=500, parts_synced__lte=520)
        .values_list("intercom_id", "parts_synced")
    )
    found.append(
        Case(
            f"thread of 500-520 parts, as it opens: the latest 100 ({len(threads)} threads)",
            lambda i: link(threads[i % len(threads)][0]),
            lambda i, body: None
            if body.count('id="part-') == 100 and "Show earlier messages" in body
            else "not the latest 100 parts",
        )
    )
    found.append(
        Case(
            f"thread of 500-520 parts, every part shown (?parts=600, {len(threads)} threads)",
            lambda i: link(threads[i % len(threads)][0]) + "?parts=600",
            lambda i, body: None
            if body.count('id="part-') == threads[i % len(threads)][1] + 1
            else "not every part shown",
        )
    )

    live = Contact.objects.live()
    customers = list(
        live.filter(conversations__isnull=False).values_list("intercom_id", "name", "email").distinct()[:2000]
    )
    anyone = list(
        live.filter(pk__in=[rng.randrange(1, live.count()) for _ in range(400)]).values_list(
            "intercom_id", "name", "email"
        )
    )
    people = [p for pair in zip(customers, anyone, strict=False) for p in pair] or anyone
    rng.shuffle(people)
    found.append(
        Case(
            "contact page",
            lambda i: link(people[i % len(people)][0], "contacts"),
            lambda i, body: None
            if html.escape(people[i % len(people)][1] or people[i % len(people)][0]) in body
            else "contact missing",
        )
    )
    big = list(Company.objects.live().order_by("-user_count").values_list("intercom_id", "name")[:100])
    ids = [rng.randrange(1, Company.objects.count()) for _ in range(300)]
    small = list(Company.objects.live().filter(pk__in=ids).values_list("intercom_id", "name"))
    companies = [c for pair in zip(big, small, strict=False) for c in pair] + small[len(big) :]
    found.append(
        Case(
            "company page",
            lambda i: link(companies[i % len(companies)][0], "companies"),
            lambda i, body: None if html.escape(companies[i % len(companies)][1]) in body else "company missing",
        )
    )

    tag_sizes = dict(
        Tag.objects.annotate(n=Count("contacts", filter=Q(contacts__deleted_at__isnull=True))).values_list(
            "intercom_id", "n"
        )
    )
    tags = list(tag_sizes)
    found.append(
        Case(
            f"contacts filtered by tag ({len(tags)} tags, {min(tag_sizes.values()):,}-{max(tag_sizes.values()):,} contacts)",
            lambda i: "/contacts/?" + urlencode({"tag": tags[i % len(tags)]}),
            lambda i, body: rows_check(body, tag_sizes[tags[i % len(tags)]]),
        )
    )
    with_users = companies[:200]
    company_sizes = {c: Contact.objects.live().filter(companies__intercom_id=c).count() for c, _ in with_users}
    found.append(
        Case(
            f"contacts filtered by company ({len(with_users)} companies, {min(company_sizes.values()):,}-{max(company_sizes.values()):,} users)",
            lambda i: "/contacts/?" + urlencode({"company": with_users[i % len(with_users)][0]}),
            lambda i, body: rows_check(body, company_sizes[with_users[i % len(with_users)][0]]),
        )
    )

    def search_case(name: str, queries: list[str], expected: Callable[[int, str], str | None]) -> None:
        found.append(
            Case(name, lambda i: "/search/?" + urlencode({"q": queries[i % len(queries)]}), expected, search=True)
        )

    marked = lambda i, body: None if "<mark>" in body else "no highlighted match"  # noqa: E731
    search_case(
        "search: common words (can you help, …)",
        ["can you help", "thanks account", "invoice wrong amount", "password please"],
        marked,
    )
    candidates = [(w, c) for w, c in sorted(plan.rare.items()) if c]
    rng.shuffle(candidates)
    rare = []  # (word, the live conversations that hold it), read from the mirror: the fill's record is a superset
    for word, ids in candidates[:300]:
        parts = ConversationPart.objects.filter(conversation__intercom_id__in=ids, body__contains=word)
        held = set(
            parts.filter(conversation__deleted_at__isnull=True).values_list("conversation__intercom_id", flat=True)
        )
        held |= set(
            Conversation.objects.live()
            .filter(intercom_id__in=ids, body__contains=word)
            .values_list("intercom_id", flat=True)
        )
        if held:
            rare.append((word, sorted(held)))
    search_case(
        f"search: a rare word ({len(rare)} words)",
        [w for w, _ in rare],
        lambda i, body: None if any(link(c) in body for c in rare[i % len(rare)][1]) else "its conversation missing",
    )
    search_case(
        'search: a phrase ("credit card", …)',
        ['"credit card"', '"reset your password"', '"mot de passe"', '"wrong amount"'],
        marked,
    )
    senders = list(
        Conversation.objects.live()
        .filter(customer__email__gt="", customer__deleted_at__isnull=True)
        .values_list("customer__email", "intercom_id")[:5000]
    )
    rng.shuffle(senders)
    senders = senders[:300]
    search_case(
        f"search: from:<email> ({len(senders)} senders)",
        [f"from:{email}" for email, _ in senders],
        lambda i, body: None if "/conversations/" in body else "no conversation found",
    )
    return found


ROW_LINK = re.compile(r'<td class="name"><a href="/contacts/')


def rows_check(body: str, size: int) -> str | None:
    shown = len(ROW_LINK.findall(body))
    return None if shown == min(size, 50) else f"{shown} rows shown, {min(size, 50)} expected"


def measure(case: Case, client, requests: int, warmup: int, budget: float) -> Result:
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times, queries, failures, slowest, slowest_time, sql = [], [], [], [], -1.0, []
    spent = [0.0]

    def timed(execute, sql_text, params, many, context):
        """Add the time spent executing each query (fetching included on PostgreSQL, whose cursor reads all rows)."""
        started = time.perf_counter()
        try:
            return execute(sql_text, params, many, context)
        finally:
            spent[0] += time.perf_counter() - started

    counts_queries = None
    started = time.perf_counter()
    for n in range(-warmup, requests):
        i = n + warmup
        url = case.url(i)
        cache.clear()
        connection.queries_log.clear()  # the log keeps 9,000 queries: this keeps it from warning
        spent[0] = 0.0
        with connection.execute_wrapper(timed), CaptureQueriesContext(connection) as captured:
            t0 = time.perf_counter()
            response = client.get(url)
            elapsed = time.perf_counter() - t0
        body = response.content.decode()
        problem = f"HTTP {response.status_code}" if response.status_code != 200 else case.check(i, body)
        if n < 0:
            continue
        if problem and len(failures) < 5:
            failures.append(f"{url}: {problem}")
        times.append(elapsed)
        queries.append(len(captured.captured_queries))
        sql.append(spent[0])
        if case.inbox:
            grouped = [q for q in captured.captured_queries if "GROUP BY" in q["sql"] and "COUNT(" in q["sql"].upper()]
            counts_queries = max(counts_queries or 0, len(grouped))
        if elapsed > slowest_time:
            slowest_time, slowest = elapsed, list(captured.captured_queries)
        if n >= 19 and time.perf_counter() - started > budget:
            break
    return Result(case, times, queries, slowest, counts_queries, failures, sql)


def explain(result: Result, console, top: int = 2) -> None:
    """Print why a page missed: its queries when there are too many, else the plans of the slowest ones.

    The plans are of the slowest request's slowest queries: EXPLAIN (ANALYZE, BUFFERS) on
    PostgreSQL, EXPLAIN QUERY PLAN on SQLite.
    """
    from django.db import connection

    name = result.case.name
    if max(result.queries) > MAX_QUERIES:
        console.print(f"[bold]{name}[/bold]: the {len(result.slowest)} queries of its slowest request")
        for q in result.slowest:
            console.print(f"  {float(q['time']) * 1000:6.1f} ms  {q['sql'][:160]}", markup=False, highlight=False)
        console.print()
    if result.pct(95) <= result.target:
        return
    ranked = sorted(result.slowest, key=lambda q: float(q["time"]), reverse=True)[:top]
    for q in ranked:
        sql = q["sql"]
        console.print(f"[bold]{name}[/bold]: a query of {float(q['time']) * 1000:.1f} ms in its slowest request")
        console.print(sql if len(sql) < 1500 else sql[:1500] + " …", markup=False, highlight=False)
        prefix = "EXPLAIN (ANALYZE, BUFFERS) " if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN "
        try:
            with connection.cursor() as cursor:
                cursor.execute(prefix + sql)
                plan = "\n".join(" | ".join(str(c) for c in row) for row in cursor.fetchall())
        except Exception as exc:  # noqa: BLE001 - a query Django logged in a form that cannot be run again
            plan = f"(could not explain: {exc})"
        console.print(plan, markup=False, highlight=False)
        console.print()


def staff_client(plan: Plan):
    from django.contrib.auth.models import Group, User
    from django.test import Client

    from intercom_mirror.actions import admin_for
    from intercom_mirror.models import ConversationViewer

    # A kept fill is measured as a fresh one: no presence rows left by an earlier run (a thread's
    # first view inserts its row, later ones update it).
    ConversationViewer.objects.all().delete()
    user, _ = User.objects.get_or_create(username="bench-staff", defaults={"email": "agent0@support.example.com"})
    user.is_staff, user.is_superuser = True, False
    user.save()
    user.groups.add(Group.objects.get(name="Support staff"))
    admin = admin_for(user)
    if admin is None or admin.intercom_id != plan.admin_ids[0]:
        raise SystemExit("The bench's staff user is not linked to its admin.")
    client = Client()
    client.force_login(user)
    return client


def counts(console) -> None:
    from django.db import connection

    from intercom_mirror.models import Company, Contact, Conversation, ConversationPart, Note
    from intercom_mirror.search.models import SearchEntry

    rows = [
        ("contacts", Contact.objects.count(), Contact.objects.filter(role="lead").count()),
        ("companies", Company.objects.count(), None),
        ("conversations", Conversation.objects.count(), Conversation.objects.filter(state="closed").count()),
        ("parts", ConversationPart.objects.count(), None),
        ("notes", Note.objects.count(), None),
        ("search entries", SearchEntry.objects.count(), None),
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT MAX(parts_synced), SUM(CASE WHEN parts_synced > 500 THEN 1 ELSE 0 END),"
            " PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY parts_synced) FROM intercom_mirror_conversation"
            if connection.vendor == "postgresql"
            else "SELECT MAX(parts_synced), SUM(CASE WHEN parts_synced > 500 THEN 1 ELSE 0 END), NULL FROM intercom_mirror_conversation"
        )
        most, over, median = cursor.fetchone()
    console.print(
        "rows: "
        + ", ".join(
            f"{name} {n:,}" + (f" ({extra:,} {'leads' if name == 'contacts' else 'closed'})" if extra else "")
            for name, n, extra in rows
        )
        + f"; parts per conversation: most {most:,}, {over:,} conversations over 500"
        + (f", median {median:.0f}" if median is not None else "")
    )


def database_size() -> str:
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
            return cursor.fetchone()[0]
    return f"{Path(connection.settings_dict['NAME']).stat().st_size / 2**20:,.0f} MB"


def run(options: argparse.Namespace, database: str, reuse: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    os.environ["DATABASE_URL"] = database
    os.environ["DJANGO_SETTINGS_MODULE"] = "intercom_mirror.settings"
    import warnings

    import django

    warnings.filterwarnings("ignore", message="No directory at")  # whitenoise: no collectstatic needed here
    django.setup()
    from django.db import connection

    console = Console(width=200)
    engine = "PostgreSQL" if connection.vendor == "postgresql" else "SQLite"
    sizes = Sizes.at(options.scale)
    console.print(
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs (at the start)"
    )
    console.print(f"{engine} · scale {options.scale} · seed {options.seed} · {database}")
    if reuse:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)  # indexes added since the fill are built now
        seconds, plan = recorded_fill()
        console.print("reusing a kept fill (--keep); it took, when it was made:")
    else:
        console.print(
            f"filling {sizes.contacts:,} contacts, {sizes.companies:,} companies, {sizes.conversations:,} conversations, "
            f"{sizes.parts:,} parts, {sizes.notes:,} notes …"
        )
        seconds = fill(sizes, options.seed)
        _, plan = recorded_fill()
    for name, s in seconds.items():
        console.print(f"  {name:<55} {s:9.1f} s")
    counts(console)
    console.print(f"database size {database_size()}")

    client = staff_client(plan)
    rng = random.Random(options.seed + 2)
    results = []
    console.print(
        f"measuring: {options.warmup} warm-up requests per page (not counted), then {options.requests} "
        f"(fewer only when a page passes {options.budget:.0f} s); the cache is cleared before every request"
    )
    for case in cases(plan, rng):
        if options.only and not re.search(options.only, case.name):
            continue
        if case.url is None:
            console.print(f"  {case.name}: skipped ({case.note})")
            continue
        result = measure(case, client, options.requests, options.warmup, options.budget)
        results.append(result)
        console.print(
            f"  {case.name:<75} p95 {result.pct(95):8.1f} ms  {max(result.queries):2d} queries"
            + (f"  FAILED {result.failures[0]}" if result.failures else ""),
            markup=False,
        )

    title = f"{engine}, scale {options.scale}: server time per request (Django test client, in-process)"
    table = Table(title=title)
    columns = ("page", "requests", "p50 ms", "p95 ms", "p99 ms", "SQL p50 ms", "queries/request", "target", "result")
    for column in columns:
        table.add_column(column, justify="left" if column in ("page", "target", "result") else "right")
    for r in results:
        qs = sorted(set(r.queries))
        queries = str(qs[0]) if len(qs) == 1 else f"{qs[0]}-{qs[-1]}"
        target = f"p95 ≤ {r.target:.0f} ms, ≤ {MAX_QUERIES} queries" + (", counts in 1 query" if r.case.inbox else "")
        status = "met" if r.met else "MISSED"
        if r.case.inbox and r.counts_queries != 1:
            status += f" ({r.counts_queries} grouped counts)"
        if r.failures:
            status = "FAILED: " + r.failures[0]
        style = None if r.met else "bold red"
        table.add_row(
            r.case.name, str(len(r.times)), f"{r.pct(50):.1f}", f"{r.pct(95):.1f}", f"{r.pct(99):.1f}",
            f"{statistics.median(r.sql) * 1000:.1f}", queries,
            target + ("" if engine == "PostgreSQL" else " (PG's)"), status, style=style,
        )  # fmt: skip
    console.print(table)
    missed = [r for r in results if not r.met and not r.failures]
    if missed:
        console.print(
            f"\n[bold]Plans of the slowest queries of each page that missed a target ({len(missed)})[/bold]\n"
        )
        for r in missed:
            explain(r, console)
    console.print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs (at the end)")
    connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="", help="postgres://user@host/name, or sqlite (the default)")
    parser.add_argument("--scale", type=float, help="1.0 on PostgreSQL, 0.1 on SQLite unless given")
    parser.add_argument("--keep", action="store_true", help="keep the filled database, and reuse a kept one")
    parser.add_argument("--requests", type=int, default=200, help="measured requests per page")
    parser.add_argument("--warmup", type=int, default=5, help="requests per page before measuring")
    parser.add_argument(
        "--budget", type=float, default=300.0, help="seconds per page before it stops early (>= 20 requests)"
    )
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--only", default="", help="measure only the pages whose name matches this regex")
    options = parser.parse_args()
    postgres = options.database.startswith(("postgres://", "postgresql://"))
    if options.scale is None:
        options.scale = 1.0 if postgres else 0.1
    if postgres:
        reuse = prepare_postgres(options.database, options.keep, options.scale, options.seed)
        try:
            run(options, options.database, reuse)
        finally:
            if not options.keep:
                drop_postgres(options.database)
        return
    if options.database not in ("", "sqlite") and not options.database.startswith("sqlite:"):
        raise SystemExit("--database takes postgres://… or sqlite")
    if options.keep:
        path = Path(tempfile.gettempdir()) / f"intercom_pages_{options.scale:g}.sqlite3"
        run(options, f"sqlite:///{path}", sqlite_reusable(path, options.scale, options.seed))
        print(f"kept {path}")
        return
    with tempfile.TemporaryDirectory() as tmp:
        run(options, f"sqlite:///{tmp}/pages.sqlite3", False)


if __name__ == "__main__":
    main()
