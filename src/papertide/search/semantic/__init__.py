"""The semantic side: papers found by meaning, through embeddings of their title and abstract.

``retriever.SemanticRetriever`` is what the search service asks; behind it, the query model
(``registry.py`` names the models, ``query_process.py`` runs the query model in a child process)
and the stored vectors of that model behind one ``vectors.VectorSearch`` protocol: searched in
this process on SQLite (exactly, or through the HNSW graph of ``ann.py``), by pgvector on
PostgreSQL. ``indexer.py`` fills the vectors.
"""
