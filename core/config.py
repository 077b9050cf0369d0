"""Typed settings, read from the environment (and a `.env` file) by pydantic-settings.

`DATABASE_URL` and `REDIS_URL` keep their conventional names; everything else is
`CONCIERGE_*`. Runtime state (SQLite file, checkpoints, model caches, keys) lives in
`CONCIERGE_STATE_DIR`, a git-ignored `.state/` folder in the project by default.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_DIR = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Every knob of a deployment, with the embedded defaults."""

    model_config = SettingsConfigDict(env_prefix="CONCIERGE_", env_file=".env", extra="ignore")

    state_dir: Path = PROJECT_DIR / ".state"
    data_dir: Path = PROJECT_DIR / "data" / "demo"
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "CONCIERGE_DATABASE_URL")
    )
    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("REDIS_URL", "CONCIERGE_REDIS_URL")
    )
    max_message_chars: int = Field(default=2000, ge=1)
    chat_rate_limit: str = "30/minute"
    """Chat turns per user ("Answer it now" counts as one)."""
    conversation_rate_limit: str = "10/minute"
    """New conversations per user."""
    handoff_rate_limit: str = "5 per 10 minutes"
    """"Talk to a person" requests per user."""
    intent_threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    """Override of the out-of-scope threshold chosen on held-out data when training."""
    wrong_answer_cost: float = Field(default=1.0, gt=0.0)
    """How much worse a confident wrong answer is than a clarifying question (threshold tuning)."""
    min_passage_score: float = Field(default=0.35, ge=0.0)
    """Relative BM25 score (0-1) below which a passage is not used as grounding."""
    turn_timeout_s: float = Field(default=20.0, gt=0.0)
    """Time budget of a whole turn: past it the customer gets an apology and an offer of a person."""
    checkpoint_durability: Literal["exit", "async", "sync"] = "exit"
    """When LangGraph writes a turn's checkpoint: once at the end (exit) or after every step."""
    answer_cache_ttl_s: int = Field(default=60, ge=0)
    """With Redis: seconds a repeated identical question reuses the agents' work (0: off)."""
    trace_turns: bool = True
    """Record every turn's spans for the workflow traces page."""
    monitor_in_app: bool = True
    """Run the system monitor inside the app server (turn off when `concierge monitor` runs alone)."""
    monitor_interval_s: float = Field(default=5.0, gt=0.0)
    """Seconds between the monitor's samples and alert checks."""
    alert_consecutive: int = Field(default=3, ge=1)
    """Consecutive breaches before an alert fires (and clear readings before it resolves)."""
    alert_webhook_url: str | None = None
    """Optional URL that gets a JSON POST when an alert fires or resolves."""
    encryption_keys: SecretStr | None = None
    """Fernet keys, comma-separated, newest first (default: a key file in the state folder)."""
    password_min_chars: int = Field(default=12, ge=8, le=64)
    login_failure_limit: str = "5 per 15 minutes"
    """Login attempts per account before further attempts wait (a success clears the count)."""
    login_client_limit: str = "20 per 15 minutes"
    """Login attempts per client address, successful ones included (each is counted before
    its password is checked)."""
    sign_up_limit: str = "10 per hour"
    """Sign-ups per client address."""
    trusted_proxies: int = Field(default=0, ge=0, le=10)
    """How many proxies (load balancers) in front of the app append to X-Forwarded-For: the
    client is the address that many entries from the right. 0: the header is ignored."""
    trust_proxy_headers: bool = False
    """Deprecated: the same as `trusted_proxies=1`."""
    session_idle_minutes: float = Field(default=30.0, gt=0.0)
    session_absolute_hours: float = Field(default=12.0, gt=0.0)
    retention_days: int | None = Field(default=None, ge=1)
    """Conversations older than this are deleted by `concierge purge` (None: kept)."""
    mask_pii: bool = True
    """Mask e-mails, card numbers, IBANs and phones in traces, logs and LangSmith exports."""
    llm_model: str | None = None
    """A chat model that writes the answers (any OpenAI-compatible server); None: offline answers."""
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_BASE_URL", "CONCIERGE_OPENAI_BASE_URL")
    )
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "CONCIERGE_OPENAI_API_KEY")
    )
    llm_timeout_s: float = Field(default=10.0, gt=0.0, le=120.0)
    """Budget of one model call, retries included: past it the offline answer is given."""
    llm_max_retries: int = Field(default=1, ge=0, le=5)
    """Retries of a failed model request (connection errors, 429 and 5xx), within the budget."""
    llm_temperature: float = Field(default=0.2, ge=0.0, le=2.0)
    llm_breaker_failures: int = Field(default=5, ge=1)
    """Failed model calls in a row that open the circuit breaker (answers go offline)."""
    llm_breaker_reset_s: float = Field(default=60.0, gt=0.0)
    """Seconds the breaker stays open before one call tries the model again."""
    embeddings: Literal["auto", "off"] = "auto"
    """Sentence embeddings in intent and retrieval: on when the `semantic` extra is installed."""
    spelling: Literal["on", "off"] = "on"
    """Customers' typos mended before the intent and retrieval agents read them
    (`agents.spelling`); "off" reads every message exactly as sent."""
    model_check_interval_s: float = Field(default=10.0, gt=0.0)
    """Seconds between a replica's checks for a newer live intent model (a retrain elsewhere)."""
    agent_hours: str = Field(default="08:00-22:00", pattern=r"^\d{2}:\d{2}-\d{2}:\d{2}$")
    """When human agents answer (every day, local time in `agent_timezone`); the demo bank's."""
    agent_timezone: str = "Europe/London"
    company_name: str = Field(default="Brightside Bank", min_length=1, max_length=80)
    """Whose customer service this is, as the login page says (the demo bank's)."""
    live_refresh_s: float = Field(default=1.0, ge=0.2, le=30.0)
    """How often the chat and inbox pages read the store for new messages (no click)."""
    demo_password: str | None = None
    model_dir: Path | None = None
    """Where trained models are cached (default: `models/` in the state folder)."""

    @property
    def proxy_hops(self) -> int:
        """Trusted proxies in front of the app (`trusted_proxies`, or 1 for the old flag)."""
        return self.trusted_proxies or int(self.trust_proxy_headers)

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.state_dir / 'concierge.sqlite'}"

    @property
    def model_cache_dir(self) -> Path:
        return self.model_dir or self.state_dir / "models"

    @property
    def pseudonym_key_path(self) -> Path:
        return self.state_dir / "pseudonym.key"

    @property
    def key_file_path(self) -> Path:
        return self.state_dir / "encryption.keys"

    @property
    def checkpoint_path(self) -> Path:
        return self.state_dir / "checkpoints.sqlite"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests build their own `Settings(...)` instead)."""
    return Settings()
