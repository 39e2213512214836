"""feeds.sync: RSS 2.0, RSS 1.0 (RDF) and Atom into post nodes (stdlib only)."""
import codecs
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from agentos import OpError, http, progress, provides, returns, timeout

_ATOM = "{http://www.w3.org/2005/Atom}"
_RSS1 = "{http://purl.org/rss/1.0/}"
_RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
_DC = "{http://purl.org/dc/elements/1.1/}"
_CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9_.:-]+)["']""")
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.I)
_MAX_ENTRIES = 1000


class _Text(HTMLParser):
    """An entry's HTML as plain text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []

    def handle_data(self, data):
        self.parts.append(data)

    def handle_starttag(self, tag, attrs):
        if tag in ("p", "br", "div", "li", "h1", "h2", "h3"):
            self.parts.append("\n")


def _plain(html: str) -> str:
    if "<" not in html and "&" not in html:
        return html.strip()
    p = _Text()
    p.feed(html)
    p.close()
    lines = (" ".join(line.split()) for line in "".join(p.parts).splitlines())
    return "\n".join(line for line in lines if line)


def _utf8(body: bytes, content_type: str) -> bytes:
    """The feed as UTF-8 with a declaration that says so: from the HTTP charset,
    else the XML declaration's encoding, else UTF-8 (as XML says)."""
    m = _HEADER_CHARSET.search(content_type or "")
    name = m.group(1) if m else None
    if name is None:
        m = _XML_DECL.search(body[:200])
        name = m.group(1).decode("ascii") if m else "utf-8"
    try:
        text = body.decode(codecs.lookup(name).name, "replace")
    except LookupError:
        text = body.decode("utf-8", "replace")
    text = re.sub(r"""^\s*<\?xml[^>]*\?>""", "", text, count=1)
    return text.lstrip("\ufeff").encode("utf-8")


def _date(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip()
    try:
        d = parsedate_to_datetime(value)  # RFC 822, RSS 2.0
    except (TypeError, ValueError):
        try:
            d = datetime.fromisoformat(value.replace("Z", "+00:00"))  # RFC 3339, Atom and dc:date
        except ValueError:
            return None
    if d.tzinfo is None:
        d = d.replace(tzinfo=timezone.utc)
    return d.isoformat()


def _t(el, path: str) -> str:
    found = el.find(path)
    return (found.text or "").strip() if found is not None and found.text else ""


def _rss2(channel, base: str):
    meta = {"name": _t(channel, "title"), "site": _t(channel, "link"), "description": _plain(_t(channel, "description")), "format": "rss2"}
    entries = []
    for item in channel.findall("item"):
        link = _t(item, "link")
        guid = _t(item, "guid")
        entries.append({"title": _t(item, "title"), "url": urljoin(base, link) if link else None, "guid": guid or None,
                        "published": _date(_t(item, "pubDate") or _t(item, _DC + "date")),
                        "content": _plain(_t(item, _CONTENT + "encoded") or _t(item, "description")),
                        "author": _t(item, _DC + "creator") or _t(item, "author")})
    return meta, entries


def _rss1(root, base: str):
    channel = root.find(_RSS1 + "channel")
    meta = {"name": _t(channel, _RSS1 + "title") if channel is not None else "",
            "site": _t(channel, _RSS1 + "link") if channel is not None else "",
            "description": _plain(_t(channel, _RSS1 + "description")) if channel is not None else "", "format": "rss1"}
    entries = []
    for item in root.findall(_RSS1 + "item"):
        link = _t(item, _RSS1 + "link")
        entries.append({"title": _t(item, _RSS1 + "title"), "url": urljoin(base, link) if link else None,
                        "guid": item.get(_RDF + "about") or None, "published": _date(_t(item, _DC + "date")),
                        "content": _plain(_t(item, _CONTENT + "encoded") or _t(item, _RSS1 + "description")),
                        "author": _t(item, _DC + "creator")})
    return meta, entries


def _atom_link(el) -> str:
    for link in el.findall(_ATOM + "link"):
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return link.get("href")
    return ""


def _atom(root, base: str):
    meta = {"name": _t(root, _ATOM + "title"), "site": _atom_link(root), "description": _plain(_t(root, _ATOM + "subtitle")), "format": "atom"}
    entries = []
    for entry in root.findall(_ATOM + "entry"):
        link = _atom_link(entry)
        content = entry.find(_ATOM + "content")
        if content is None:
            content = entry.find(_ATOM + "summary")
        text = ""
        if content is not None:
            text = "".join(content.itertext()) if content.get("type") == "xhtml" else (content.text or "")
        entries.append({"title": _t(entry, _ATOM + "title"), "url": urljoin(base, link) if link else None,
                        "guid": _t(entry, _ATOM + "id") or None,
                        "published": _date(_t(entry, _ATOM + "published") or _t(entry, _ATOM + "updated")),
                        "content": _plain(text), "author": _t(entry, _ATOM + "author/" + _ATOM + "name")})
    return meta, entries


def parse(body: bytes, content_type: str, url: str):
    """The feed's own fields and its entries; OpError invalid when it is not a feed."""
    try:
        root = ET.fromstring(_utf8(body, content_type))
    except ET.ParseError as e:
        raise OpError("invalid", f"feeds.sync: {url} is not well-formed XML: {e}") from None
    if root.tag == "rss" and root.find("channel") is not None:
        return _rss2(root.find("channel"), url)
    if root.tag == _RDF + "RDF":
        return _rss1(root, url)
    if root.tag == _ATOM + "feed":
        return _atom(root, url)
    raise OpError("invalid", f"feeds.sync: {url} is XML but not an RSS or Atom feed (its root is <{root.tag}>)")


@provides("feeds.sync")
@returns("post[]")
@timeout(120)
def sync(url: str) -> list:
    """Fetch an RSS or Atom feed and store its entries as posts linked to the feed.

    Args:
        url: the feed's address, http:// or https://
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OpError("invalid", f"feeds.sync: {url!r} is not a web address: give the feed's URL, like https://example.com/feed.xml")
    url = url.strip()
    r = http.get(url, headers={"Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5"}, timeout=60)
    if r.status >= 400:
        raise OpError("unavailable" if r.status >= 500 else "invalid", f"feeds.sync: {url} answered HTTP {r.status}")
    meta, entries = parse(r.content, r.headers.get("content-type", ""), url)
    feed = {"url": url, "name": meta["name"] or url, "description": meta["description"] or None, "format": meta["format"],
            "synced": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    if meta["site"] and urlsplit(meta["site"]).scheme in ("http", "https"):
        feed["site"] = meta["site"]
    posts = []
    for i, e in enumerate(entries[:_MAX_ENTRIES]):
        if not e["guid"] and not e["url"]:
            continue  # nothing to know it by next time
        post = {"name": e["title"] or e["url"] or e["guid"], "title": e["title"] or None, "url": e["url"],
                "guid": e["guid"], "published": e["published"], "content": e["content"] or None,
                "platform": meta["format"], "feed": feed}
        posts.append({k: v for k, v in post.items() if v is not None})
        if (i + 1) % 100 == 0:
            progress(i + 1, len(entries), "read")
    return posts
