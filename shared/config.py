"""The one Settings object. No other module reads os.environ."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting the app reads; documented in local.settings.json.example."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", populate_by_name=True)

    environment: Literal["local", "test", "production"] = Field(
        default="local", validation_alias=AliasChoices("APP_ENV", "environment")
    )
    database_url: str = Field(default="", validation_alias=AliasChoices("DATABASE_URL", "database_url"))
    db_pool_min: int = Field(default=1, validation_alias=AliasChoices("DB_POOL_MIN", "db_pool_min"))
    db_pool_max: int = Field(default=10, validation_alias=AliasChoices("DB_POOL_MAX", "db_pool_max"))
    storage_connection_string: str = Field(
        default="",
        validation_alias=AliasChoices(
            "AZURE_STORAGE_CONNECTION_STRING", "AzureWebJobsStorage", "storage_connection_string"
        ),
    )
    service_bus_connection: str = Field(
        default="", validation_alias=AliasChoices("ServiceBusConnection", "service_bus_connection")
    )
    video_container: str = Field(default="videos", validation_alias=AliasChoices("VIDEO_CONTAINER"))
    # Identity-based storage in Azure (no account key): SAS URLs are signed with a user delegation key.
    storage_blob_service_uri: str = Field(
        default="", validation_alias=AliasChoices("AzureWebJobsStorage__blobServiceUri", "STORAGE_BLOB_SERVICE_URI")
    )

    # Videos: the upload cap, how long an upload or thumbnail URL stays valid, where thumbnails go.
    max_video_bytes: int = Field(default=500 * 1024 * 1024, validation_alias=AliasChoices("MAX_VIDEO_BYTES"))
    video_sas_ttl_minutes: int = Field(default=15, validation_alias=AliasChoices("VIDEO_SAS_TTL_MINUTES"))
    thumbnail_container: str = Field(
        default="video-thumbnails", validation_alias=AliasChoices("THUMBNAIL_CONTAINER")
    )

    # Auth: Supabase access tokens. HS256 with the project's JWT secret, or JWKS for asymmetric keys.
    supabase_url: str = Field(default="", validation_alias=AliasChoices("SUPABASE_URL", "supabase_url"))
    supabase_jwt_secret: SecretStr = Field(
        default=SecretStr(""), validation_alias=AliasChoices("SUPABASE_JWT_SECRET", "supabase_jwt_secret")
    )
    supabase_jwks_url: str = Field(
        default="", validation_alias=AliasChoices("SUPABASE_JWKS_URL", "supabase_jwks_url")
    )
    jwt_audience: str = Field(default="authenticated", validation_alias=AliasChoices("JWT_AUDIENCE"))
    jwt_issuer: str = Field(default="", validation_alias=AliasChoices("JWT_ISSUER"))

    # Secrets: Key Vault in Azure, an encrypted file locally.
    key_vault_url: str = Field(default="", validation_alias=AliasChoices("KEY_VAULT_URL", "key_vault_url"))
    local_secrets_path: Path = Field(
        default=Path(".devhost/secrets.enc"), validation_alias=AliasChoices("LOCAL_SECRETS_PATH")
    )
    local_secrets_key: SecretStr = Field(
        default=SecretStr(""), validation_alias=AliasChoices("LOCAL_SECRETS_KEY", "local_secrets_key")
    )

    # HTTP edge.
    cors_origins: list[str] = Field(
        default_factory=lambda: ["http://localhost:3000"], validation_alias=AliasChoices("CORS_ORIGINS")
    )
    max_body_bytes: int = Field(default=1_048_576, validation_alias=AliasChoices("MAX_BODY_BYTES"))
    rate_limit_per_minute: int = Field(default=600, validation_alias=AliasChoices("RATE_LIMIT_PER_MINUTE"))
    log_level: str = Field(default="INFO", validation_alias=AliasChoices("LOG_LEVEL"))

    # Store connections: hosts an `api_base_url` may point at (besides loopback outside production).
    api_base_url_allowlist: list[str] = Field(
        default_factory=list, validation_alias=AliasChoices("API_BASE_URL_ALLOWLIST")
    )

    # Webhooks: the public origin platforms deliver to (`{base}/webhooks/...`); empty = no registration.
    public_base_url: str = Field(default="", validation_alias=AliasChoices("PUBLIC_BASE_URL", "public_base_url"))

    # Webhook inbox retention: payloads of applied deliveries are blanked after N days; the rows (dedupe keys)
    # are deleted after M days (at least 2: Shopify retries a delivery for 4 hours).
    webhook_payload_retention_days: int = Field(
        default=7, ge=1, validation_alias=AliasChoices("WEBHOOK_PAYLOAD_RETENTION_DAYS")
    )
    webhook_dedupe_retention_days: int = Field(
        default=30, ge=2, validation_alias=AliasChoices("WEBHOOK_DEDUPE_RETENTION_DAYS")
    )
    # A webhook batch refreshes its store's rollups unless a refresh ran less than this many seconds ago (what
    # it leaves queued goes with the next batch, the next read, or the minute timer).
    webhook_rollup_interval_seconds: float = Field(
        default=2.0, ge=0, validation_alias=AliasChoices("WEBHOOK_ROLLUP_INTERVAL_SECONDS")
    )

    # Syncs.
    sync_stuck_after_minutes: int = Field(default=120, validation_alias=AliasChoices("SYNC_STUCK_AFTER_MINUTES"))

    # Language model (shared/advice/language): Azure OpenAI when its endpoint and key are set, else OpenAI when
    # OPENAI_API_KEY is; neither = the deterministic offline advisor. Prices are USD per 1M tokens (usage costs).
    openai_api_key: SecretStr = Field(default=SecretStr(""), validation_alias=AliasChoices("OPENAI_API_KEY"))
    openai_base_url: str = Field(default="", validation_alias=AliasChoices("OPENAI_BASE_URL"))
    openai_model: str = Field(default="gpt-4o-mini", validation_alias=AliasChoices("OPENAI_MODEL"))
    azure_openai_endpoint: str = Field(default="", validation_alias=AliasChoices("AZURE_OPENAI_ENDPOINT"))
    azure_openai_api_key: SecretStr = Field(
        default=SecretStr(""), validation_alias=AliasChoices("AZURE_OPENAI_API_KEY")
    )
    azure_openai_deployment: str = Field(default="", validation_alias=AliasChoices("AZURE_OPENAI_DEPLOYMENT"))
    azure_openai_api_version: str = Field(
        default="2024-10-21", validation_alias=AliasChoices("AZURE_OPENAI_API_VERSION")
    )
    llm_timeout_seconds: float = Field(default=20.0, validation_alias=AliasChoices("LLM_TIMEOUT_SECONDS"))
    llm_max_retries: int = Field(default=2, validation_alias=AliasChoices("LLM_MAX_RETRIES"))
    llm_price_input_per_1m: Decimal = Field(
        default=Decimal("0.15"), validation_alias=AliasChoices("LLM_PRICE_INPUT_PER_1M")
    )
    llm_price_output_per_1m: Decimal = Field(
        default=Decimal("0.60"), validation_alias=AliasChoices("LLM_PRICE_OUTPUT_PER_1M")
    )
    # Tokens (prompt + completion, all purposes) an organization may use per calendar month (UTC); 0 = no cap.
    # Over it, model calls fail with LanguageModelError("budget") and callers fall back (offline / templates).
    llm_monthly_token_limit: int = Field(
        default=2_000_000, ge=0, validation_alias=AliasChoices("LLM_MONTHLY_TOKEN_LIMIT")
    )
    # Speech to text for videos (same client and key): the OpenAI model or the Azure deployment name. Segment
    # times come only from models that answer verbose_json (whisper*); gpt-4o*-transcribe give the text alone.
    openai_transcribe_model: str = Field(
        default="gpt-4o-mini-transcribe", validation_alias=AliasChoices("OPENAI_TRANSCRIBE_MODEL")
    )
    llm_transcribe_timeout_seconds: float = Field(
        default=120.0, validation_alias=AliasChoices("LLM_TRANSCRIBE_TIMEOUT_SECONDS")
    )
    llm_price_transcribe_per_minute: Decimal = Field(
        default=Decimal("0.003"), validation_alias=AliasChoices("LLM_PRICE_TRANSCRIBE_PER_MINUTE")
    )

    # Advisor: new recommendations per store and day, the reorder lead time its stock detectors assume, and how
    # long after acceptance a recommendation's outcome is measured.
    advisor_daily_limit: int = Field(default=5, ge=1, le=50, validation_alias=AliasChoices("ADVISOR_DAILY_LIMIT"))
    advisor_lead_time_days: int = Field(
        default=14, ge=1, le=120, validation_alias=AliasChoices("ADVISOR_LEAD_TIME_DAYS")
    )
    advisor_followup_days: int = Field(
        default=14, ge=1, le=180, validation_alias=AliasChoices("ADVISOR_FOLLOWUP_DAYS")
    )

    @property
    def is_production(self) -> bool:
        return self.environment == "production"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
