"""The catalog: papers, organisations and the daily list, and the one door in (``upsert``)."""
