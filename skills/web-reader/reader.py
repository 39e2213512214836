"""web.read: fetch a page and extract its title, visible text and links (stdlib only)."""
import codecs
import re
from datetime import datetime, timezone
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin, urlsplit

from agentos import OpError, http, provides, returns, timeout

# Text inside these elements is never shown to a reader.
_HIDDEN = {"script", "style", "noscript", "template", "head", "svg"}
_BLOCK = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section", "article", "pre"}
_MAX_TEXT = 200_000
_MAX_LINKS = 500
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.I)


class _Extractor(HTMLParser):
    def __init__(self, base: str):
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.links = []
        self._base = base
        self._seen = set()
        self._link = None  # the <a> being read: [url, text parts]
        self._in_title = False
        self._hidden = 0
        self._parts = []

    def handle_starttag(self, tag, attrs):
        if tag == "base":
            href = dict(attrs).get("href")
            if href:
                self._base = urljoin(self._base, href)
        if tag == "a":
            self._end_link()
            href = (dict(attrs).get("href") or "").strip()
            target = urldefrag(urljoin(self._base, href))[0] if href else ""
            if urlsplit(target).scheme in ("http", "https"):
                self._link = [target, []]
        if tag == "title":
            self._in_title = True
        elif tag in _HIDDEN:
            self._hidden += 1
        elif tag in _BLOCK:
            self._parts.append("\n")

    def _end_link(self):
        if self._link is None:
            return
        target, parts = self._link
        self._link = None
        if target not in self._seen and len(self.links) < _MAX_LINKS:
            self._seen.add(target)
            self.links.append({"url": target, "text": " ".join("".join(parts).split())[:200]})

    def close(self):
        super().close()
        self._end_link()

    def handle_endtag(self, tag):
        if tag == "a":
            self._end_link()
        if tag == "title":
            self._in_title = False
        elif tag in _HIDDEN and self._hidden:
            self._hidden -= 1
        elif tag in _BLOCK:
            self._parts.append("\n")

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        elif not self._hidden:
            self._parts.append(data)
            if self._link is not None:
                self._link[1].append(data)

    def text(self):
        lines = (" ".join(line.split()) for line in "".join(self._parts).splitlines())
        return "\n".join(line for line in lines if line)[:_MAX_TEXT]


def _charset(content_type: str, body: bytes) -> str:
    """The page's encoding: Content-Type's charset, else a <meta charset> (or
    http-equiv) near the top, else UTF-8; one Python does not know is UTF-8."""
    m = _HEADER_CHARSET.search(content_type or "")
    name = m.group(1) if m else None
    if name is None:
        m = _META_CHARSET.search(body[:4096])
        name = m.group(1).decode("ascii", "replace") if m else "utf-8"
    try:
        return codecs.lookup(name).name
    except LookupError:
        return "utf-8"


@provides("web.read")
@returns("webpage")
@timeout(45)
def read(url: str) -> dict:
    """Fetch a web page and return its title, visible text and links.

    Args:
        url: the page's address, http:// or https://
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OpError("invalid", f"web.read: {url!r} is not a web address: give one like https://example.com/page")
    url = url.strip()
    r = http.get(url, headers={"Accept": "text/html,application/xhtml+xml,text/plain;q=0.8"}, timeout=30)
    if r.status >= 400:
        raise OpError("unavailable" if r.status >= 500 else "invalid", f"{url} answered HTTP {r.status}")
    kind = r.headers.get("content-type", "")
    body = r.content
    text = body.decode(_charset(kind, body), "replace")
    links = []
    if "html" in kind or not kind:
        p = _Extractor(url)
        p.feed(text)
        p.close()
        name, content, links = " ".join(p.title.split()), p.text(), p.links
    else:
        name, content = url, text[:_MAX_TEXT]
    return {"url": url, "name": name or url, "content": content, "status": r.status, "links": links,
            "fetched": datetime.now(timezone.utc).isoformat(timespec="seconds")}
