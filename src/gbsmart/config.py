"""Settings for gbsmart, read from the environment (prefix ``GBSMART_``) and nowhere else."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything configurable about a gbsmart installation."""

    model_config = SettingsConfigDict(env_prefix="GBSMART_", env_file=None, extra="ignore")

    data_dir: Path = Field(default=Path("var"), description="Where the embedded database and keys live.")
    database_url: str = Field(default="", description="SQLAlchemy URL; default an SQLite file under data_dir.")
    secret_key: SecretStr | None = Field(
        default=None, description="Signs portal sessions and CSRF tokens; generated into data_dir if unset."
    )
    session_max_age_seconds: int = 8 * 3600
    token_ttl_days: int = 90
    # Change Board voting, SECMP0041 (seed 004). [configurable] in DOMAIN.md section 2.
    change_board_categories: list[str] = ["large_supplier", "small_supplier", "networks", "other"]
    change_board_tie_has_view: bool = False
    change_board_count_abstentions: bool = False
    change_board_min_agreeing_categories: int = 3

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'gbsmart.db').as_posix()}"

    def resolved_secret_key(self) -> str:
        """The configured secret, or one generated once and kept in data_dir (never in the repository)."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key


@lru_cache
def get_settings() -> Settings:
    return Settings()
