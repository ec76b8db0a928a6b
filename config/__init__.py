"""Settings and the data shipped as defaults (rules, demo district, services)."""
