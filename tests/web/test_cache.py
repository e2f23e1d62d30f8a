"""The page cache: entries are served only while the content version and the TTL say they are current."""

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from papertide.web.cache import Memo, PageCache, PageCacheMiddleware


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_an_entry_is_served_only_at_its_version_and_before_it_expires():
    clock = Clock()
    cache = PageCache(ttl=10, clock=clock)
    cache.put("k", 1, 200, [], b"page")
    assert cache.get("k", 1).body == b"page"
    assert cache.get("k", 2) is None  # a vote moved the version: stale
    assert cache.get("k", 1) is None  # and the stale entry is gone
    cache.put("k", 2, 200, [], b"page2")
    clock.now = 10.5
    assert cache.get("k", 2) is None


def test_least_recently_used_entries_leave_first_when_full():
    cache = PageCache(max_entries=2)
    cache.put("a", 0, 200, [], b"a")
    cache.put("b", 0, 200, [], b"b")
    cache.get("a", 0)
    cache.put("c", 0, 200, [], b"c")
    assert cache.get("b", 0) is None and cache.get("a", 0) and cache.get("c", 0)


def test_the_byte_budget_is_kept():
    cache = PageCache(max_bytes=800)
    for key in range(10):
        cache.put(key, 0, 200, [], b"x" * 100)
    assert len(cache) == 8


def make_client(version):
    renders = []

    async def page(request):
        renders.append(request.url.path)
        response = PlainTextResponse(f"render {len(renders)}")
        if request.query_params.get("cookie"):
            response.set_cookie("flash", "1")
        return response

    async def broken(request):
        renders.append("broken")
        return PlainTextResponse("oops", status_code=500)

    app = Starlette(routes=[Route("/p", page), Route("/private", page), Route("/broken", broken)])
    app.add_middleware(
        PageCacheMiddleware, cache=PageCache(), version=lambda: version[0],
        cacheable=lambda path: path != "/private", private_cookies=["session"],
    )
    return TestClient(app), renders


def test_middleware_serves_repeat_requests_from_cache_until_the_version_moves():
    version = [1]
    client, renders = make_client(version)
    first, second = client.get("/p"), client.get("/p")
    assert first.text == second.text == "render 1"
    assert (first.headers["x-cache"], second.headers["x-cache"]) == ("miss", "hit")
    assert client.get("/p?x=1").text == "render 2"  # the query is part of the key
    version[0] = 2
    assert client.get("/p").text == "render 3"


def test_middleware_never_caches_personal_or_failed_responses():
    client, renders = make_client([1])
    for _ in range(2):
        client.get("/private")
        client.get("/broken")
        client.get("/p?cookie=1")  # sets a cookie: not shareable
    assert len(renders) == 6
    client.cookies.set("session", "abc")  # a logged-in reader gets a fresh page each time
    client.get("/p")
    client.get("/p")
    assert len(renders) == 8


def test_concurrent_misses_for_one_page_render_it_once():
    """A stampede on a cold page: one render, every request answered with it."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    renders = []

    async def slow_page(request):
        renders.append(1)
        await asyncio.sleep(0)  # yield, so the other requests arrive while this one renders
        await asyncio.sleep(0)
        return PlainTextResponse("the page")

    app = Starlette(routes=[Route("/p", slow_page)])
    app.add_middleware(PageCacheMiddleware, cache=PageCache(), version=lambda: 1,
                       cacheable=lambda path: True, private_cookies=["session"])

    async def crowd():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            return await asyncio.gather(*(client.get("/p") for _ in range(20)))

    # In a thread of its own: the browser tests' Playwright keeps an event loop in the main thread.
    with ThreadPoolExecutor(1) as thread:
        responses = thread.submit(asyncio.run, crowd()).result()
    assert {r.text for r in responses} == {"the page"}
    assert len(renders) == 1
    assert sorted(r.headers["x-cache"] for r in responses) == ["hit"] * 19 + ["miss"]


def test_memo_computes_once_per_ttl():
    clock = Clock()
    memo = Memo(ttl=5, clock=clock)
    calls = []
    compute = lambda: calls.append(1) or len(calls)  # noqa: E731
    assert memo.get("k", compute) == memo.get("k", compute) == 1
    clock.now = 6
    assert memo.get("k", compute) == 2


def test_the_fast_content_version_reader_follows_every_bump(database):
    from papertide.catalog import versions

    read = versions.reader(database.engine)
    assert read() == 0
    for expected in (1, 2):
        with database.session() as session:
            versions.bump(session, versions.CATALOG)
        with database.session() as session:
            assert read() == versions.content_version(session) == expected


def test_cached_text_is_sent_gzipped_to_clients_that_accept_it():
    page_text = "<p>paper</p>" * 500

    async def page(request):
        return PlainTextResponse(page_text, headers={"vary": "Cookie"})

    app = Starlette(routes=[Route("/p", page)])
    app.add_middleware(PageCacheMiddleware, cache=PageCache(), version=lambda: 1,
                       cacheable=lambda path: True, private_cookies=["session"])
    client = TestClient(app)
    client.get("/p")  # miss: stored, compressed once
    zipped = client.get("/p", headers={"accept-encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip" and zipped.text == page_text  # httpx decodes
    assert int(zipped.headers["content-length"]) < len(page_text) / 10
    assert zipped.headers["vary"] == "Cookie, Accept-Encoding"
    raw = client.get("/p", headers={"accept-encoding": "identity"})
    assert raw.headers["x-cache"] == "hit" and "content-encoding" not in raw.headers
    assert raw.content == page_text.encode()
