"""The HTML pages: one module per page family, each with a ``router`` of GET routes.

Pages only read (through ``papertide.feed`` and the community services) and render;
everything that changes state is a POST in ``papertide.web.actions``, in ``web.threads`` (a
paper's comments) or ``web.password_reset`` (one exception: the Sources page's "run now", which
only asks the workers, sits with its page in ``sources``). ``admin`` also shows the confirmations
that hiding and blocking ask for first. The digest's
pages, whose signed email links act on their own rules, are ``papertide.web.digest``.
"""

from fastapi import APIRouter

from papertide.web.pages import account, admin, authors, collections, daily, for_you, orgs, paper, search, sources, trending

router = APIRouter(include_in_schema=False)  # pages are for people: /docs documents the API
for module in (daily, trending, paper, search, orgs, authors, for_you, collections, account, admin, sources):
    router.include_router(module.router)
