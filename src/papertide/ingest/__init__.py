"""Sources that turn feeds and files into PaperRecords, and the runner that feeds the catalog.

Each source is a small class that yields ``PaperRecord`` or ``Rejected`` items (and, when it can
resume, ``Checkpoint``s) and raises ``SourceError`` when the input as a whole is unusable. Sources
never write to the database; ``papertide.ingest.runner`` batches their records into
``catalog.upsert``. Files: ``jsonl``, ``hf_daily``, ``arxiv_api``, ``oai_pmh`` (one per source),
``detect`` (which source a file needs), ``http`` (paced, retried requests), ``safe_xml``, ``files``.
"""
