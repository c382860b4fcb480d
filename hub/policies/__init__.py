"""Policy versions as data: one TOML file per version (policy.md §3)."""
