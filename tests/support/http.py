"""HTTP against a real server (gunicorn, runserver) with `requests`, and forms
submitted as a browser would submit them (lxml reads the page's forms).

Pages served in-process are fetched with Django's test client instead; `text()`
reads either kind of response."""

import re
from urllib.parse import urlsplit, urlunsplit

import lxml.html
import requests
from requests.adapters import HTTPAdapter

from tests.support.waiting import wait_until


def text(response) -> str:
    """A response's body as served (HTML entities left as they are)."""
    return response.content.decode()


def csrf_token_in(response) -> str:
    """The CSRF token a page's form posts (the campaign page fills it into cached
    markup, so it is not in the template context)."""
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', text(response))
    assert found, "no CSRF token on the page"
    return found[1]


def local_session() -> requests.Session:
    """A session that talks to this machine directly, whatever proxy the
    environment names."""
    session = requests.Session()
    session.trust_env = False
    return session


def closing_connections(session: requests.Session) -> requests.Session:
    """`session`, asking the server to close each connection after its answer:
    for a gunicorn the test stops. At SIGTERM, gunicorn 27's gthread worker
    waits for each kept-alive connection's keepalive timeout (2 s), even one the
    client has closed meanwhile; one the server closed itself is already gone."""
    session.headers["Connection"] = "close"
    return session


class BehindTlsProxy(HTTPAdapter):
    """The TLS proxy in front of gunicorn, for a requests session: a request to
    the public https site goes to gunicorn's local port as plain http, with the
    public Host and `X-Forwarded-Proto: https`. The session still believes it
    speaks https to the public site, so it keeps and sends Secure cookies and
    follows redirects there, as a browser would."""

    def __init__(self, port: int) -> None:
        super().__init__()
        self.port = port

    def send(self, request, **kwargs):
        public = urlsplit(request.url)
        forwarded = request.copy()
        forwarded.url = urlunsplit(
            ("http", f"127.0.0.1:{self.port}", public.path, public.query, "")
        )
        forwarded.headers["Host"] = public.netloc
        forwarded.headers["X-Forwarded-Proto"] = "https"
        response = super().send(forwarded, **kwargs)
        response.url, response.request = request.url, request
        return response


def proxied_session(site_url: str, port: int) -> requests.Session:
    """A browser on the public `site_url`, served by gunicorn on `port`."""
    session = local_session()
    session.mount(site_url + "/", BehindTlsProxy(port))
    return session


def wait_for_http(url: str, *, timeout: float = 30.0, **kwargs) -> None:
    """Until `url` answers 200: a server starting up refuses connections first."""
    session = local_session()

    def answers() -> bool:
        try:
            return session.get(url, timeout=2, **kwargs).status_code == 200
        except (requests.ConnectionError, requests.Timeout):  # not listening yet
            return False

    wait_until(answers, timeout, f"{url} to answer 200")
    session.close()


def forms_of(page: requests.Response) -> list[lxml.html.FormElement]:
    """The page's forms; fill them with `form.fields[name] = value` and tick a
    box with `form.inputs[name].checked = True`."""
    return lxml.html.fromstring(page.text, base_url=page.url).forms


def submit(session: requests.Session, page, form, **values) -> requests.Response:
    """POST `form` from `page` as a browser would: the form's own fields as filled
    in and ticked, then `values` (the button pressed, say), to its action, with
    the page as Referer and its origin as Origin. Redirects are followed; when
    there was one, `.history[0]` is the POST's own response."""
    page_url = urlsplit(page.url)
    return session.post(
        form.action or page.url,
        data={**dict(form.form_values()), **values},
        headers={
            "Referer": page.url,
            "Origin": f"{page_url.scheme}://{page_url.netloc}",
        },
    )
