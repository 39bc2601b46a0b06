"""Settings for Dataset Studio, driven by the environment.

Defaults give the embedded mode (SQLite, in-process Dramatiq worker on a stub broker, in-memory
channel layer). Setting ``DATABASE_URL`` and ``REDIS_URL`` switches to services mode
(PostgreSQL, Dramatiq on Redis, channels-redis, the Redis rate limiter). No other module knows
which mode is on: they read the names defined here.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, fernet_key, local_secret, random_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("STUDIO_DATA_DIR", BASE_DIR / "data")).resolve()
DATABASE_URL = os.environ.get("DATABASE_URL", "")
REDIS_URL = os.environ.get("REDIS_URL", "")
EMBEDDED = not REDIS_URL
# Off unless asked for, in both modes: DEBUG logs every query (a cost on every generated row,
# docs/performance.md) and shows tracebacks to whoever triggers them.
DEBUG = env_bool("DJANGO_DEBUG", default=False)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not EMBEDDED:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when REDIS_URL is set")
    SECRET_KEY = local_secret(DATA_DIR, "secret_key", random_secret_key)

# Fernet keys that encrypt provider credentials at rest; the first encrypts, all decrypt, so a
# key can be rotated by prepending a new one.
STUDIO_ENCRYPTION_KEYS = env_list("STUDIO_ENCRYPTION_KEYS", [])
if not STUDIO_ENCRYPTION_KEYS:
    if not EMBEDDED:
        raise ImproperlyConfigured("STUDIO_ENCRYPTION_KEYS must be set when REDIS_URL is set")
    STUDIO_ENCRYPTION_KEYS = [local_secret(DATA_DIR, "encryption_key", fernet_key)]

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_dramatiq",
    "channels",
    "studio",
    "generation",
    "evaluation",
    "config",  # the project wiring: only for its `serve` command
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Refuses a body past its limit before anything reads it (see the Seed files section).
    "studio.body_limits.RequestBodyLimitMiddleware",
    # Serves static files in every mode, also behind uvicorn with DEBUG off.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
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
            ],
        },
    }
]

if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "studio.sqlite3"),
            # The web server and the in-process worker write from different threads: wait for
            # the lock instead of failing, take the write lock up front, and use WAL so readers
            # never block the writer.
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
if os.environ.get("STUDIO_TEST_DATABASE_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": os.environ["STUDIO_TEST_DATABASE_NAME"]}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "project-list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STUDIO_STATIC_ROOT", DATA_DIR / "staticfiles"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise expects it, even when empty
# Serve straight from the source folders as well, so no collectstatic step is needed to run.
WHITENOISE_USE_FINDERS = True

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads it from the cookie-less header set in base.html
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
if not DEBUG:
    # Embedded mode serves plain HTTP on this machine; services mode sits behind TLS.
    SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not EMBEDDED)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# --- Background work: Dramatiq -------------------------------------------------------------
DRAMATIQ_MIDDLEWARE = [
    "dramatiq.middleware.AgeLimit",
    "dramatiq.middleware.TimeLimit",
    "dramatiq.middleware.Callbacks",
    "dramatiq.middleware.Retries",
    "django_dramatiq.middleware.DbConnectionsMiddleware",
    # Async actors (generate_chunk) run on one event loop per worker process...
    "dramatiq.middleware.asyncio.AsyncIO",
    # ...where chunks share provider clients and the calls in flight (generation/worker/loop.py).
    "generation.worker.loop.WorkerLoopMiddleware",
    # Sends again the chunks of runs that stopped advancing (the broker lost them).
    "generation.worker.stalled_runs.StalledRunSweeper",
]
if EMBEDDED:
    DRAMATIQ_BROKER = {
        "BROKER": "dramatiq.brokers.stub.StubBroker",
        "OPTIONS": {},
        "MIDDLEWARE": DRAMATIQ_MIDDLEWARE,
    }
else:
    DRAMATIQ_BROKER = {
        "BROKER": "dramatiq.brokers.redis.RedisBroker",
        "OPTIONS": {
            "url": REDIS_URL,
            "namespace": os.environ.get("STUDIO_QUEUE_NAMESPACE", "dataset-studio"),
            # Redeliver a killed worker's messages within seconds, not minutes (stack-notes).
            "heartbeat_timeout": env_int("STUDIO_WORKER_HEARTBEAT_MS", 15_000, minimum=1),
            "maintenance_chance": 100_000,
        },
        "MIDDLEWARE": DRAMATIQ_MIDDLEWARE,
    }
DRAMATIQ_AUTODISCOVER_MODULES = ["actors"]
# Longest an idle worker waits before it looks at its queue again (generation/worker/loop.py).
STUDIO_WORKER_POLL_MS = env_int("STUDIO_WORKER_POLL_MS", 100, minimum=1)
# A running run of which no row finished and no call was recorded for this long gets its pending
# chunks sent again by a worker, checked every STUDIO_STALLED_RUN_CHECK_SECONDS (0: never), in
# case the broker lost its messages (generation/worker/stalled_runs.py, docs/chaos.md).
STUDIO_STALLED_RUN_SECONDS = env_int("STUDIO_STALLED_RUN_SECONDS", 300, minimum=1)
STUDIO_STALLED_RUN_CHECK_SECONDS = env_int("STUDIO_STALLED_RUN_CHECK_SECONDS", 30, minimum=0)
# Threads of the in-process worker in embedded mode.
STUDIO_EMBEDDED_WORKER_THREADS = env_int("STUDIO_EMBEDDED_WORKER_THREADS", 2, minimum=1)

# --- Live updates: Channels ----------------------------------------------------------------
if EMBEDDED:
    CHANNEL_LAYERS: dict[str, dict[str, Any]] = {
        "default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [REDIS_URL],
                "prefix": os.environ.get("STUDIO_CHANNELS_PREFIX", "studio-live"),
            },
        }
    }

# --- Generation ----------------------------------------------------------------------------
# Rows per Dramatiq message. A worker process has STUDIO_ROW_CONCURRENCY calls in flight per
# worker thread, shared by its chunks; each thread holds one chunk, so a process has
# threads × chunk size rows it can start. Four times the calls in flight (100 against 25) keeps
# every slot busy while a chunk waits for its slowest answers (smaller chunks left slots idle
# when providers' latencies spread; docs/performance.md). Fewer, larger chunks also mean a small
# run is spread over fewer worker processes.
STUDIO_CHUNK_SIZE = env_int("STUDIO_CHUNK_SIZE", 100, minimum=1)
STUDIO_ROW_CONCURRENCY = env_int("STUDIO_ROW_CONCURRENCY", 25, minimum=1)
STUDIO_PROVIDER_TIMEOUT = env_int("STUDIO_PROVIDER_TIMEOUT", 60, minimum=1)
STUDIO_PROVIDER_MAX_ATTEMPTS = env_int("STUDIO_PROVIDER_MAX_ATTEMPTS", 4, minimum=1)
# Whether a credential's base URL may point to a private, loopback or link-local address (a local
# vLLM or Ollama). On by default in the embedded mode (one person's machine), off in services
# mode, where it would let users aim the server at its internal network (studio.provider_urls).
STUDIO_ALLOW_PRIVATE_PROVIDER_URLS = env_bool("STUDIO_ALLOW_PRIVATE_PROVIDER_URLS", EMBEDDED)
# A call in flight holds its worst cost against its run's budget as a lease of this many
# seconds, renewed every third of it by the chunk making the call (generation/worker/budget_holds.py):
# a killed worker's holds stop counting within one lease. At least 10 s, so a slow flush or a
# paused process does not let a live call's hold lapse.
STUDIO_BUDGET_HOLD_SECONDS = env_int("STUDIO_BUDGET_HOLD_SECONDS", 60, minimum=10)
STUDIO_MAX_ROWS_PER_RUN = env_int("STUDIO_MAX_ROWS_PER_RUN", 100_000, minimum=1)
STUDIO_REDIS_URL = REDIS_URL
# Batch mode (generation/batch/): how often open provider batches are polled, and the most
# requests one provider batch may hold.
STUDIO_BATCH_POLL_SECONDS = float(os.environ.get("STUDIO_BATCH_POLL_SECONDS") or 30)
STUDIO_BATCH_MAX_REQUESTS = env_int("STUDIO_BATCH_MAX_REQUESTS", 50_000, minimum=1)

# --- Seed files ---------------------------------------------------------------------------
# The largest upload accepted as a seed table or document, and the widest table.
STUDIO_MAX_UPLOAD_BYTES = env_int("STUDIO_MAX_UPLOAD_BYTES", 50 * 1024 * 1024, minimum=1)
STUDIO_MAX_SEED_COLUMNS = env_int("STUDIO_MAX_SEED_COLUMNS", 200, minimum=1)
STUDIO_MAX_SEED_ROWS = env_int("STUDIO_MAX_SEED_ROWS", 1_000_000, minimum=1)
# What a table may become once decoded: a small compressed or dictionary-encoded Parquet file
# can expand a thousandfold. Its cells (rows x columns), its rows as stored (JSON), one cell.
STUDIO_MAX_SEED_CELLS = env_int("STUDIO_MAX_SEED_CELLS", 20_000_000, minimum=1)
STUDIO_MAX_SEED_DECODED_BYTES = env_int(
    "STUDIO_MAX_SEED_DECODED_BYTES", 200 * 1024 * 1024, minimum=1024
)
STUDIO_MAX_SEED_CELL_BYTES = env_int("STUDIO_MAX_SEED_CELL_BYTES", 2 * 1024 * 1024, minimum=1024)
# A document's extracted text (characters), and a PDF's pages.
STUDIO_MAX_DOCUMENT_CHARS = env_int("STUDIO_MAX_DOCUMENT_CHARS", 20_000_000, minimum=1000)
STUDIO_MAX_DOCUMENT_PAGES = env_int("STUDIO_MAX_DOCUMENT_PAGES", 2000, minimum=1)
# Every request body but a file upload (forms, JSON: a 1 M-character schema import escaped
# as JSON is up to 6 MB); a multipart upload may carry STUDIO_MAX_UPLOAD_BYTES more. Bodies
# past their limit get a 413 before they are read (studio/body_limits.py).
STUDIO_MAX_REQUEST_BYTES = env_int("STUDIO_MAX_REQUEST_BYTES", 8 * 1024 * 1024, minimum=65536)
DATA_UPLOAD_MAX_MEMORY_SIZE = STUDIO_MAX_REQUEST_BYTES
# Uploaded files past this go to a temporary file while the request is read, not to memory;
# the first handler stops a file past STUDIO_MAX_UPLOAD_BYTES while it streams.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_HANDLERS = [
    "studio.body_limits.FileSizeLimitHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# --- Export --------------------------------------------------------------------------------
# huggingface_hub also honours HF_ENDPOINT itself; tests point it at a local fake Hub.
HF_ENDPOINT = os.environ.get("HF_ENDPOINT") or None

# --- Security ------------------------------------------------------------------------------
# Content-Security-Policy (django-csp 4): every script and style comes from our own static files
# (no inline <script>, no on…= handlers, no style="" attributes), live updates use the same
# origin's websocket (covered by 'self'), the API docs use the Swagger UI files django-ninja ships.
INSTALLED_APPS += ["ninja", "axes"]  # ninja: the Swagger UI files and template it ships
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
    "csp.middleware.CSPMiddleware",
)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],  # the inline SVG favicon, Swagger UI's icons
        "font-src": ["'self'"],
        "connect-src": ["'self'"],  # htmx requests and the run page's websocket
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# HTTPS. An install whose cookies are secure is served over HTTPS (services mode by default, see
# DJANGO_SECURE_COOKIES above): plain HTTP is redirected to it and browsers are told to stay on
# it. Behind a TLS-terminating proxy that sets X-Forwarded-Proto, set
# DJANGO_SECURE_PROXY_SSL_HEADER=true (only then: a client could otherwise claim HTTPS itself).
# The embedded mode on http://127.0.0.1 has none of this.
SERVED_OVER_HTTPS = not DEBUG and env_bool("DJANGO_SECURE_COOKIES", not EMBEDDED)
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", SERVED_OVER_HTTPS)
if env_bool("DJANGO_SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int(
    "DJANGO_SECURE_HSTS_SECONDS", 365 * 24 * 3600 if SERVED_OVER_HTTPS else 0, minimum=0
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool(
    "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", SECURE_HSTS_SECONDS > 0
)
# Preloading is a commitment of the whole domain, for its owner to opt into.
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)
SECURE_REFERRER_POLICY = "same-origin"

# Shared counters (failed API tokens, token creations) and django-axes: Redis in services mode,
# so every web process counts together; this process's memory in the embedded mode.
if not EMBEDDED:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("STUDIO_CACHE_PREFIX", "studio-cache"),
        }
    }

# Sign-in: after STUDIO_LOGIN_FAILURE_LIMIT failed attempts for one username from one address,
# that pair is locked out for STUDIO_LOGIN_COOLOFF_MINUTES (django-axes; answers 429).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
MIDDLEWARE.append("axes.middleware.AxesMiddleware")
AXES_FAILURE_LIMIT = env_int("STUDIO_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("STUDIO_LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# No banner at every start and no line per sign-in; lockouts are still logged (WARNING).
AXES_VERBOSE = False
# API bearer tokens: STUDIO_API_TOKEN_FAILURE_LIMIT wrong tokens from one address within
# STUDIO_API_TOKEN_FAILURE_WINDOW seconds, and the address gets 429 until the window ends.
STUDIO_API_TOKEN_FAILURE_LIMIT = env_int("STUDIO_API_TOKEN_FAILURE_LIMIT", 20, minimum=1)
STUDIO_API_TOKEN_FAILURE_WINDOW = env_int("STUDIO_API_TOKEN_FAILURE_WINDOW", 300, minimum=1)
# Token creation (settings page): at most this many new tokens per user per hour.
STUDIO_API_TOKEN_CREATE_LIMIT = env_int("STUDIO_API_TOKEN_CREATE_LIMIT", 20, minimum=1)

# The demo account (embedded mode only): its password, random and printed at start by default.
STUDIO_DEMO_PASSWORD = os.environ.get("STUDIO_DEMO_PASSWORD", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("STUDIO_LOG_LEVEL", "INFO")},
    "loggers": {
        "httpx": {"level": "WARNING"},
        "httpx2": {"level": "WARNING"},
        "dramatiq": {"level": "WARNING"},
        "django.channels.server": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}
