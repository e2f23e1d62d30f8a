"""The digest pages inside the real site: its layout, its strict CSP, and a preview frame that
may style itself (as emails do) but is framed only by the site."""

from __future__ import annotations

import re


def test_subscribe_page_uses_the_site_layout_and_its_csp(client):
    page = client.get("/subscribe")
    assert page.status_code == 200
    assert 'class="topbar"' in page.text and 'name="email"' in page.text
    assert "<style" not in page.text and "style=" not in page.text  # nothing the CSP would block
    policy = page.headers["content-security-policy"]
    assert "'unsafe-inline'" not in policy and "frame-ancestors 'none'" in policy
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token and token.group(1)


def test_preview_frames_the_email_from_this_site(client):
    page = client.get("/digest/preview")
    assert page.status_code == 200
    frame = re.search(r'<iframe class="digest-frame"[^>]* src="([^"]+)"', page.text)
    assert frame, page.text[:500]
    email = client.get(frame.group(1).replace("&amp;", "&"))
    assert email.status_code == 200 and "<html" in email.text.lower()
    policy = email.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'self'" in policy
    assert "script" not in policy


def test_every_paper_link_in_a_digest_opens_its_page_on_the_site(catalog, client):
    from papertide.digest.preview import preview_digest
    from tests.catalog.helpers import NOW
    from tests.web.helpers import settings_for

    digest = preview_digest(catalog, settings_for(catalog), None, today=NOW.date())
    assert digest is not None
    for part in ("html", "plain"):
        links = set(re.findall(r"http://testserver(/papers/[0-9.]+)", digest.part(part)))
        assert links, f"no paper links in the {part} part"
        for link in links:
            page = client.get(link)
            assert page.status_code == 200, link
            assert link.rsplit("/", 1)[-1] in page.text


def test_the_digest_forms_are_guarded_by_the_sites_one_csrf_token(client):
    page = client.get("/subscribe")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    assert client.get("/api/session").json()["csrfToken"] == token  # the token every other form sends
    form = {"email": "not-an-address", "frequency": "daily", "content": "trending", "max_papers": "10"}
    assert client.post("/subscribe", data=form).status_code == 403
    assert client.post("/subscribe", data={**form, "csrf_token": "forged"}).status_code == 403
    checked = client.post("/subscribe", data={**form, "csrf_token": token})
    assert checked.status_code == 400 and "does not look right" in checked.text  # past the guard, to the form's own checks
