"""The web: pages for people, a Hugging Face-compatible JSON API, and feeds."""
