"""Settings for Receivables Desk.

Everything a deployment changes is an environment variable (see README, "Configuration").
The defaults give a working single-machine setup: SQLite under var/ and a Celery broker
on the filesystem, so `make run` needs no server.
"""

import re
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)

env = environ.Env()

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="dev-only-insecure-key-change-me-in-production")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "ninja",  # serves the API docs page's Swagger UI from its own static files, not a CDN
    "simple_history",
    "django_celery_beat",
    "receivables",
    "dunning",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language: the one chosen in the header (a cookie, and the user's preference
    # applied at login, config/language.py), else the browser's Accept-Language.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "config.language.UserLanguageMiddleware",  # the chosen language follows the user
    "config.language.ApiInEnglishMiddleware",  # the API's words are its interface
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "config.middleware.BusinessTimeZoneMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "config.navigation.main_menu",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'receivables.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server, the worker and beat read while one of them writes;
    # IMMEDIATE transactions take the write lock up front instead of failing mid-way.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # PostgreSQL's JIT compiler spends hundreds of milliseconds compiling the report
    # queries it estimates as expensive, more than they take to run (docs/BENCHMARKS.md).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "landing"  # the page each role starts its day on
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
USE_I18N = True
LANGUAGES = [("en", "English"), ("es", "Español"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# The chosen language is kept in a cookie for a year (Django's set_language view writes it);
# a user's choice is also stored on the user (receivables.UserPreference) and put back in
# the cookie at login, so it follows them to another browser (config/language.py).
LANGUAGE_COOKIE_AGE = 365 * 24 * 60 * 60
LANGUAGE_COOKIE_SAMESITE = "Lax"
USE_TZ = True
TIME_ZONE = "UTC"
# The zone whose calendar defines "today" and due dates (services take it explicitly).
BUSINESS_TIME_ZONE = env.str("BUSINESS_TIME_ZONE", default="Europe/Berlin")
# The currency whole-book figures are converted to (receivables.rates). Checked here so
# that a typo stops the start-up instead of every conversion failing later.
REPORTING_CURRENCY = env.str("REPORTING_CURRENCY", default="EUR")
if not re.fullmatch(r"[A-Z]{3}", REPORTING_CURRENCY):
    raise ImproperlyConfigured(
        f"REPORTING_CURRENCY={REPORTING_CURRENCY!r} is not a currency code such as EUR "
        "(three capital letters)."
    )

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise serves from here after collectstatic
# The letterhead of every letter (dunning/printing.py), and the paper it is laid out on.
COMPANY_NAME = env.str("COMPANY_NAME", default="Feed Mill Receivables")
COMPANY_ADDRESS = env.str("COMPANY_ADDRESS", default="Mühlenweg 1\n26121 Oldenburg\nGermany")
COMPANY_SIGNATORY = env.str("COMPANY_SIGNATORY", default="Accounts Receivable")
# How dealers reach the team: printed on every letter and on the reply page.
COMPANY_PHONE = env.str("COMPANY_PHONE", default="+49 441 555 0100")
COMPANY_EMAIL = env.str("COMPANY_EMAIL", default="receivables@example.com")
LETTER_PAPER = env.str("LETTER_PAPER", default="A4")  # or "letter" (US Letter)
# Where dealers reach this site: reconciliation letters print `<this>/reply/<token>`.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://localhost:8000")

MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Celery: a filesystem broker by default so nothing needs a server; redis:// in production.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for sub in ("out", "processed"):
        (_broker_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "data_folder_processed": str(_broker_dir / "processed"),
        "store_processed": False,
    }
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Redis hands an unacknowledged task to another worker after this long: it must be
    # longer than the longest task (an import may run two hours, receivables/tasks.py),
    # or a slow task would be started a second time while the first still runs.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3 * 60 * 60}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A worker process is replaced after this many tasks: WeasyPrint (letters) keeps memory
# it has grown to, and a fresh process gives it back.
CELERY_WORKER_MAX_TASKS_PER_CHILD = env.int("CELERY_WORKER_MAX_TASKS_PER_CHILD", default=200)
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
CELERY_TIMEZONE = BUSINESS_TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# One beat schedule for the whole project, keys named by cadence (filled by the apps' needs).
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    # The collection sweep for the business date, before the collectors start; it fans
    # out one task per batch of dealers. Hours are CELERY_TIMEZONE's: the business zone,
    # so it stays 06:00 local across daylight-saving changes. A start that waited past
    # 18:00 (workers down) expires instead of sweeping the wrong day late.
    "every-day-0600-collection-sweep": {
        "task": "dunning.tasks.start_daily_sweep",
        "schedule": crontab(hour=6, minute=0),
        # expire_seconds is django-celery-beat's (the DatabaseScheduler's) name for expires.
        "options": {"expire_seconds": 12 * 60 * 60},
    },
    # The team desk's figures, kept in the cache for five minutes (dunning/desk.py), so
    # that no manager waits for twelve months of KPIs over the whole book.
    "every-5-minutes-team-desk": {
        "task": "dunning.tasks.refresh_team_desk",
        "schedule": crontab(minute="*/5"),
        "options": {"expire_seconds": 4 * 60},
    },
}

# The cache holds what several processes share for a short while: the team desk's
# figures (computed in the background) and an import's progress (written by the worker,
# read by the web). It must be shared between processes: CACHE_URL (redis://... in
# production, as django-environ spells it), by default files under var/ on one machine.
CACHES = {
    "default": env.cache_url("CACHE_URL", default=f"filecache://{VAR_DIR / 'cache'}"),
}

# Import: accepted date formats besides ISO (strptime patterns, tried in order).
IMPORT_DATE_FORMATS = env.list("IMPORT_DATE_FORMATS", default=["%Y-%m-%d"])
IMPORT_BATCH_SIZE = 2000

# Alerts e-mail the managers. EMAIL_URL takes smtp://user:password@host:587 (or
# smtp+tls://...); the default prints mail to the worker's and web server's log.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="receivables-desk@localhost")

SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # WeasyPrint narrates every step of every letter at INFO; its warnings still show.
        "weasyprint": {"level": "WARNING"},
        # Without HarfBuzz-Subset, WeasyPrint subsets fonts with fontTools, which logs a lot.
        "fontTools": {"level": "WARNING"},
    },
}

# The orders' covering indexes (INCLUDE columns) serve PostgreSQL's index-only scans for
# the KPIs; SQLite builds them without the extra columns, which is all it needs.
SILENCED_SYSTEM_CHECKS = ["models.W040"]
