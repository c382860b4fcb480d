"""One validated Settings object, read from the environment (HUB_…, nested with `__`).

Only `hub.cli` builds it from the environment; everything else receives it as an argument.
Development defaults match the simulators' development credentials, so `hub demo` needs no
configuration; a deployment sets every secret through the environment.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class SourceSettings(BaseModel):
    """Where a source system is and how long to wait for it."""

    url: str
    connect_timeout: float = Field(1.0, gt=0)
    total_timeout: float = Field(2.0, gt=0)
    max_connections: int = Field(64, ge=1)
    cache_ttl: float = Field(30.0, ge=0, description="seconds an answer is reused")


class ProvincialSettings(SourceSettings):
    url: str = "http://127.0.0.1:9101"
    app_id: str = "ghc-hub"
    app_secret: SecretStr = SecretStr("dev-provincial-secret")


class NationalSettings(SourceSettings):
    url: str = "http://127.0.0.1:9102"
    client_id: str = "ghc-hub"
    client_secret: SecretStr = SecretStr("dev-national-secret")
    risk_area_sync_interval: float = Field(30.0, ge=0, description="seconds between list syncs")


class MacaoSettings(SourceSettings):
    url: str = "http://127.0.0.1:9103"
    api_key: SecretStr = SecretStr("dev-macao-key")
    max_concurrency: int = Field(8, ge=1)


class HongKongSettings(SourceSettings):
    url: str = "http://127.0.0.1:9104"
    api_key: SecretStr = SecretStr("dev-hongkong-key")
    max_concurrency: int = Field(8, ge=1)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_", env_nested_delimiter="__", frozen=True)

    provincial: ProvincialSettings = Field(default_factory=ProvincialSettings)
    national: NationalSettings = Field(default_factory=NationalSettings)
    macao: MacaoSettings = Field(default_factory=MacaoSettings)
    hongkong: HongKongSettings = Field(default_factory=HongKongSettings)
    database_url: str = "sqlite+aiosqlite:///hub.db"
    # Keys the HMAC that names subjects inside the hub (cache keys, logs, audit).
    subject_key_secret: SecretStr = SecretStr("dev-subject-key-secret-change-me")
    graphiql: bool = False
    host: str = "127.0.0.1"
    port: int = 8000
