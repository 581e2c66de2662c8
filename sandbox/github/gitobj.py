"""Git objects with the real encoding, so every id the fake hands out is the id git would compute.

Clients compare tree ids to decide whether a commit is needed at all (same files, same tree), so
the fake must be content-addressed exactly like git: ``sha1(b"<type> <size>\\0" + body)``, trees
sorted the way git sorts them, commits encoded byte for byte as ``git commit-tree`` writes them.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

TREE_MODE = "40000"  # how git writes a subtree's mode inside a tree object
API_TREE_MODE = "040000"  # how the GitHub API shows it
BLOB_MODES = ("100644", "100755", "120000")
SUBMODULE_MODE = "160000"
MODE_TYPES = {"100644": "blob", "100755": "blob", "120000": "blob", "160000": "commit"}
SHA_RE = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class TreeEntry:
    mode: str  # git's spelling: "40000" for trees
    name: str
    sha: str

    @property
    def type(self) -> str:
        return "tree" if self.mode == TREE_MODE else MODE_TYPES.get(self.mode, "blob")

    @property
    def api_mode(self) -> str:
        return API_TREE_MODE if self.mode == TREE_MODE else self.mode


@dataclass(frozen=True)
class Signature:
    """An author or committer line: name, email, seconds since the epoch and the UTC offset."""

    name: str
    email: str
    timestamp: int
    offset_minutes: int = 0

    def encode(self) -> str:
        sign = "-" if self.offset_minutes < 0 else "+"
        hours, minutes = divmod(abs(self.offset_minutes), 60)
        return f"{self.name} <{self.email}> {self.timestamp} {sign}{hours:02d}{minutes:02d}"

    def iso(self) -> str:
        """The date as the API shows it (UTC, ``Z``)."""
        return datetime.fromtimestamp(self.timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Commit:
    tree: str
    parents: list[str]
    author: Signature
    committer: Signature
    message: str

    def encode(self) -> bytes:
        lines = [f"tree {self.tree}"]
        lines += [f"parent {parent}" for parent in self.parents]
        lines.append(f"author {self.author.encode()}")
        lines.append(f"committer {self.committer.encode()}")
        return ("\n".join(lines) + "\n\n" + self.message).encode()


@dataclass
class ObjectStore:
    """One repository's object database: sha -> (type, parsed object)."""

    blobs: dict[str, bytes] = field(default_factory=dict)
    trees: dict[str, list[TreeEntry]] = field(default_factory=dict)
    commits: dict[str, Commit] = field(default_factory=dict)

    # -- writing --------------------------------------------------------------------------------
    def put_blob(self, content: bytes) -> str:
        sha = hash_object("blob", content)
        self.blobs[sha] = content
        return sha

    def put_tree(self, entries: list[TreeEntry]) -> str:
        ordered = sort_entries(entries)
        sha = hash_object("tree", encode_tree(ordered))
        self.trees[sha] = ordered
        return sha

    def put_commit(self, commit: Commit) -> str:
        sha = hash_object("commit", commit.encode())
        self.commits[sha] = commit
        return sha

    # -- reading --------------------------------------------------------------------------------
    def kind(self, sha: str) -> str | None:
        if sha in self.blobs:
            return "blob"
        if sha in self.trees:
            return "tree"
        if sha in self.commits:
            return "commit"
        return None

    def flatten(self, tree_sha: str, prefix: str = "") -> dict[str, TreeEntry]:
        """Every entry below ``tree_sha`` (subtrees included) keyed by its full path."""
        found: dict[str, TreeEntry] = {}
        for entry in self.trees[tree_sha]:
            path = f"{prefix}{entry.name}"
            found[path] = entry
            if entry.mode == TREE_MODE:
                found.update(self.flatten(entry.sha, path + "/"))
        return found

    def files(self, tree_sha: str) -> dict[str, bytes]:
        """Blob contents below ``tree_sha`` keyed by path (what a checkout would contain)."""
        return {
            path: self.blobs[entry.sha]
            for path, entry in self.flatten(tree_sha).items()
            if entry.type == "blob"
        }

    def lookup(self, tree_sha: str, path: str) -> TreeEntry | None:
        """The entry at ``path`` (``a/b/c``) below ``tree_sha``, or None."""
        current = tree_sha
        parts = [part for part in path.split("/") if part]
        entry: TreeEntry | None = None
        for index, part in enumerate(parts):
            entries = self.trees.get(current)
            if entries is None:
                return None
            entry = next((item for item in entries if item.name == part), None)
            if entry is None:
                return None
            if index < len(parts) - 1:
                if entry.mode != TREE_MODE:
                    return None
                current = entry.sha
        return entry

    def ancestors(self, sha: str) -> set[str]:
        """``sha`` and every commit reachable from it."""
        seen: set[str] = set()
        stack = [sha]
        while stack:
            current = stack.pop()
            if current in seen or current not in self.commits:
                continue
            seen.add(current)
            stack.extend(self.commits[current].parents)
        return seen

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        return ancestor in self.ancestors(descendant)

    # -- editing trees ----------------------------------------------------------------------------
    def edit_tree(self, base_tree: str | None, changes: dict[str, TreeEntry | None]) -> str:
        """Apply ``{path: entry or None (delete)}`` to ``base_tree`` and store the result.

        Paths may contain slashes: the intermediate trees are created or rewritten as git would.
        Trees left empty by deletions disappear, as they do in git.
        """
        entries = (
            {entry.name: entry for entry in self.trees.get(base_tree, [])} if base_tree else {}
        )
        direct: dict[str, TreeEntry | None] = {}
        nested: dict[str, dict[str, TreeEntry | None]] = {}
        for path, entry in changes.items():
            head, _, rest = path.partition("/")
            if rest:
                nested.setdefault(head, {})[rest] = entry
            else:
                direct[head] = entry
        for name, entry in direct.items():
            if entry is None:
                entries.pop(name, None)
            else:
                entries[name] = TreeEntry(entry.mode, name, entry.sha)
        for name, sub_changes in nested.items():
            current = entries.get(name)
            sub_base = current.sha if current is not None and current.mode == TREE_MODE else None
            if sub_base is None and all(value is None for value in sub_changes.values()):
                continue  # deleting below something that is not a tree: nothing to do
            sub_sha = self.edit_tree(sub_base, sub_changes)
            if self.trees[sub_sha]:
                entries[name] = TreeEntry(TREE_MODE, name, sub_sha)
            else:
                entries.pop(name, None)
        return self.put_tree(list(entries.values()))


def hash_object(kind: str, body: bytes) -> str:
    return hashlib.sha1(f"{kind} {len(body)}\0".encode() + body).hexdigest()


def sort_key(entry: TreeEntry) -> bytes:
    """git compares names as bytes, a tree's name as if it ended with ``/``."""
    name = entry.name.encode()
    return name + b"/" if entry.mode == TREE_MODE else name


def sort_entries(entries: list[TreeEntry]) -> list[TreeEntry]:
    return sorted(entries, key=sort_key)


def encode_tree(entries: list[TreeEntry]) -> bytes:
    return b"".join(
        f"{entry.mode} {entry.name}".encode() + b"\0" + bytes.fromhex(entry.sha)
        for entry in entries
    )


def parse_date(value: str) -> tuple[int, int]:
    """An ISO 8601 date as GitHub accepts it -> (epoch seconds, UTC offset in minutes)."""
    text = value.strip()
    if text.endswith("Z") or text.endswith("z"):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    offset = moment.utcoffset() or timedelta(0)
    return int(moment.timestamp()), int(offset.total_seconds() // 60)


def valid_path(path: str) -> bool:
    """A path git would accept in a tree: no empty, ``.``, ``..`` or ``.git`` component."""
    return bool(path) and all(part not in ("", ".", "..", ".git") for part in path.split("/"))
