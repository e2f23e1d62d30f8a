"""Hybrid search: keyword (FTS) and semantic (embeddings) retrieval, fused; similar papers."""
