"""notes.import: a folder of Markdown into note nodes, tags and wikilinks (stdlib only)."""
import os
import re

from agentos import OpError, graph, progress, provides, timeout

_HEADING = re.compile(r"^#\s+(.+?)\s*#*\s*$", re.M)
_TAG = re.compile(r"(?<![\w#/&])#([A-Za-z][\w/-]*)")
_WIKILINK = re.compile(r"\[\[([^\]|#^]+)(?:[#^][^\]|]*)?(?:\|[^\]]*)?\]\]")
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
_BATCH = 200


def _front_matter(text: str) -> tuple[dict, str]:
    """The YAML front matter's simple keys (scalars and lists) and the rest."""
    if not text.startswith("---"):
        return {}, text
    end = text.find("\n---", 3)
    if end < 0:
        return {}, text
    block, body = text[3:end], text[end + 4:].lstrip("\n")
    meta, key = {}, None
    for line in block.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.startswith((" ", "\t", "-")) and key is not None and line.strip().startswith("- "):
            meta.setdefault(key, [])
            if isinstance(meta[key], list):
                meta[key].append(line.strip()[2:].strip().strip("\"'"))
            continue
        k, _, v = line.partition(":")
        key, v = k.strip(), v.strip()
        if v.startswith("[") and v.endswith("]"):
            meta[key] = [x.strip().strip("\"'") for x in v[1:-1].split(",") if x.strip()]
        elif v:
            meta[key] = v.strip("\"'")
    return meta, body


def _tags(meta: dict, body: str) -> list:
    raw = meta.get("tags") or meta.get("tag") or []
    if isinstance(raw, str):
        raw = [t for t in re.split(r"[,\s]+", raw) if t]
    tags = [t.lstrip("#") for t in raw]
    prose = _FENCE.sub("", body)
    for line in prose.splitlines():
        if line.startswith("#") and (len(line) == 1 or line[1] in "# "):
            continue  # a heading, not a tag
        tags += _TAG.findall(line)
    seen, out = set(), []
    for t in tags:
        if t and t.lower() not in seen:
            seen.add(t.lower())
            out.append(t)
    return out


def _note(path: str, root: str) -> tuple[dict, list]:
    with open(path, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    meta, body = _front_matter(text)
    m = _HEADING.search(_FENCE.sub("", body))
    stem = os.path.splitext(os.path.basename(path))[0]
    title = (m.group(1).strip() if m else "") or str(meta.get("title") or "") or stem
    links = [target.strip() for target in _WIKILINK.findall(body) if target.strip()]
    note = {"path": path, "title": title, "name": title, "content": body.strip(), "tags": _tags(meta, body)}
    return note, links


def _files(root: str) -> list:
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))  # .obsidian, .git, .trash
        out += [os.path.join(dirpath, f) for f in sorted(filenames) if f.lower().endswith(".md")]
    return out


@provides("notes.import")
@timeout(600)
def import_folder(path: str) -> dict:
    """Import every Markdown file under a folder as a note, with its tags and [[wikilinks]].

    Args:
        path: the folder, as an absolute path (it must be granted: files(read PATH))
    """
    if not isinstance(path, str) or not os.path.isabs(path):
        raise OpError("invalid", f"notes.import: give the folder as an absolute path, not {path!r}")
    root = os.path.normpath(path)
    grant = f'add "files(read {root})" to skills.notes.grant in config.yaml'
    try:
        os.listdir(root)
    except PermissionError:
        raise OpError("denied", f"notes.import: the notes skill may not read {root}: {grant}") from None
    except FileNotFoundError:
        raise OpError("not_found", f"notes.import: there is no folder {root}") from None
    except NotADirectoryError:
        raise OpError("invalid", f"notes.import: {root} is a file, not a folder") from None
    files = _files(root)
    notes, links, by_name = [], {}, {}
    for i, f in enumerate(files):
        try:
            note, targets = _note(f, root)
        except OSError as e:
            raise OpError("denied" if isinstance(e, PermissionError) else "unavailable", f"notes.import: reading {f}: {e}") from None
        notes.append(note)
        links[f] = targets
        rel = os.path.splitext(os.path.relpath(f, root))[0]
        by_name.setdefault(os.path.basename(rel).lower(), f)
        by_name.setdefault(rel.lower(), f)
        if (i + 1) % 50 == 0 or i + 1 == len(files):
            progress(i + 1, len(files), "read")
    created = updated = 0
    for start in range(0, len(notes), _BATCH):
        res = graph.write("note", notes[start:start + _BATCH])
        created += int(res.get("created", 0))
        updated += int(res.get("updated", 0))
        progress(min(start + _BATCH, len(notes)), len(notes), "stored")
    # Links last, once every note exists: replace each note's links with what its
    # file says now (null clears the old ones).
    edges, items = 0, []
    for f, targets in links.items():
        resolved = []
        for t in targets:
            target = by_name.get(t.lower()) or by_name.get(os.path.basename(t).lower())
            if target and target != f and {"path": target} not in resolved:
                resolved.append({"path": target})
        items.append({"path": f, "links": None})
        if resolved:
            items.append({"path": f, "links": resolved})
            edges += len(resolved)
    for start in range(0, len(items), _BATCH):
        graph.write("note", items[start:start + _BATCH])
    return {"files": len(files), "created": created, "updated": updated, "links": edges}
