"""The HTML pages: one module per page family, each with a ``router`` of GET routes.

Pages only read (through ``papertide.catalog.queries`` and the community services) and render;
everything that changes state is a POST in ``papertide.web.actions`` (one exception: the Sources
page's "run now", which only asks the workers, sits with its page in ``sources``).
"""

from fastapi import APIRouter

from papertide.web.pages import account, admin, daily, orgs, paper, search, sources, trending

router = APIRouter()
for module in (daily, trending, paper, search, orgs, account, admin, sources):
    router.include_router(module.router)
