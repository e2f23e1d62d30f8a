"""The HTML pages: one module per page family, each with a ``router`` of GET routes.

Pages only read (through ``papertide.feed`` and the community services) and render;
everything that changes state is a POST in ``papertide.web.actions`` (one exception: the Sources
page's "run now", which only asks the workers, sits with its page in ``sources``). The digest's
pages, whose signed email links act on their own rules, are ``papertide.web.digest``.
"""

from fastapi import APIRouter

from papertide.web.pages import account, admin, daily, orgs, paper, search, sources, trending

router = APIRouter(include_in_schema=False)  # pages are for people: /docs documents the API
for module in (daily, trending, paper, search, orgs, account, admin, sources):
    router.include_router(module.router)
