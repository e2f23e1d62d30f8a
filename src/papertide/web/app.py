"""The ASGI application factory (a placeholder until the web product lands)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select

from papertide.catalog.models import Paper
from papertide.db import get_database


def create_app() -> FastAPI:
    app = FastAPI(title="papertide")

    @app.get("/", response_class=HTMLResponse)
    def home() -> str:
        with get_database().session() as session:
            count = session.scalar(select(func.count()).select_from(Paper))
        return f"<!doctype html><title>papertide</title><h1>papertide</h1><p>{count:,} papers in the catalog.</p>"

    return app
