"""The fake's git database through PyGithub, checked against the real git binary.

Object ids must be exactly the ones git computes: the provisioning code decides whether a commit is
needed by comparing tree ids, so a fake that hashed differently would hide real behaviour.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import github
import pytest
from github import Auth, GithubException, InputGitAuthor, InputGitTreeElement

from sandbox.server import RunningSandbox

TOKEN = "sandbox-github-token"
NAME, EMAIL = "Course Bot", "course-bot@example.edu"
DATE_1, STAMP_1 = "2024-01-15T09:00:00Z", "1705309200 +0000"
DATE_2, STAMP_2 = "2024-01-15T10:30:00Z", "1705314600 +0000"


def client(sandbox: RunningSandbox) -> github.Github:
    # No pacing between calls (PyGithub waits 0.25 s/1 s by default) and no retries: fast tests.
    return github.Github(
        auth=Auth.Token(TOKEN),
        base_url=sandbox.github_api_url,
        retry=None,
        seconds_between_requests=None,
        seconds_between_writes=None,
    )


class Git:
    """The real git, in a scratch repository, with fixed identities and dates."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.run("init", "-q")

    def run(self, *args: str, stdin: bytes = b"", stamp: str = STAMP_1) -> str:
        env = {
            **os.environ,
            "GIT_AUTHOR_NAME": NAME,
            "GIT_AUTHOR_EMAIL": EMAIL,
            "GIT_AUTHOR_DATE": stamp,
            "GIT_COMMITTER_NAME": NAME,
            "GIT_COMMITTER_EMAIL": EMAIL,
            "GIT_COMMITTER_DATE": stamp,
            "GIT_CONFIG_NOSYSTEM": "1",
            "HOME": str(self.path),
        }
        done = subprocess.run(
            ["git", *args], cwd=self.path, input=stdin, env=env, capture_output=True, check=True
        )
        return done.stdout.decode().strip()

    def blob(self, content: bytes) -> str:
        return self.run("hash-object", "-w", "--stdin", stdin=content)

    def tree(self, entries: list[tuple[str, str, str, str]]) -> str:
        """``git mktree`` from (mode, type, sha, name) lines (mktree sorts them itself)."""
        text = "".join(f"{mode} {kind} {sha}\t{name}\n" for mode, kind, sha, name in entries)
        return self.run("mktree", stdin=text.encode())

    def commit(self, tree: str, message: str, parents: list[str], stamp: str) -> str:
        message_file = self.path / "message.txt"
        message_file.write_bytes(message.encode())  # -F keeps the message byte for byte
        args = ["commit-tree", tree, "-F", str(message_file)]
        for parent in parents:
            args += ["-p", parent]
        return self.run(*args, stamp=stamp)


@pytest.fixture
def repo(sandbox: RunningSandbox, sandbox_control):
    sandbox_control.create_org("course-org", plan="team")
    return client(sandbox).get_organization("course-org").create_repo("lab-1", private=True)


def test_git_database_on_an_empty_repository_answers_409(repo) -> None:
    calls = [
        lambda: repo.get_git_ref("heads/main"),
        lambda: repo.get_git_refs()[0],
        lambda: repo.create_git_blob("x", "utf-8"),
        lambda: repo.create_git_tree([InputGitTreeElement("a", "100644", "blob", content="x")]),
        lambda: repo.get_git_commit("0" * 40),
    ]
    for call in calls:
        with pytest.raises(GithubException) as caught:
            call()
        assert caught.value.status == 409
        assert caught.value.data["message"] == "Git Repository is empty."


def test_ids_are_the_ones_git_computes(repo, tmp_path: Path) -> None:
    git = Git(tmp_path)
    author_1 = InputGitAuthor(NAME, EMAIL, DATE_1)
    # The first commit of an empty repository comes from the contents API.
    created = repo.create_file(
        "README.md", "Initial commit", "# Lab 1\n", committer=author_1, author=author_1
    )
    readme = git.blob(b"# Lab 1\n")
    assert created["content"].sha == readme
    root_1 = git.tree([("100644", "blob", readme, "README.md")])
    commit_1 = git.commit(root_1, "Initial commit", [], STAMP_1)
    assert created["commit"].sha == commit_1

    # Names chosen to exercise git's order: "a-b/" < "a.txt" < "a/" < "a0" (trees sort as "name/").
    files = {
        "a.txt": b"top\n",
        "a/b.txt": b"nested\n",
        "a/deeper/c.md": b"deep\n",
        "a-b/x.py": b"print('x')\n",
        "a0": b"zero\n",
    }
    head = repo.get_git_ref("heads/main")
    assert head.object.sha == commit_1
    base = repo.get_git_commit(commit_1).tree
    elements = [
        InputGitTreeElement(path, "100644", "blob", content=content.decode())
        for path, content in files.items()
    ]
    new_tree = repo.create_git_tree(elements, base_tree=base)

    blob = {path: git.blob(content) for path, content in files.items()}
    deeper = git.tree([("100644", "blob", blob["a/deeper/c.md"], "c.md")])
    tree_a = git.tree(
        [("100644", "blob", blob["a/b.txt"], "b.txt"), ("040000", "tree", deeper, "deeper")]
    )
    tree_ab = git.tree([("100644", "blob", blob["a-b/x.py"], "x.py")])
    root_2 = git.tree(
        [
            ("100644", "blob", readme, "README.md"),
            ("100644", "blob", blob["a.txt"], "a.txt"),
            ("040000", "tree", tree_a, "a"),
            ("040000", "tree", tree_ab, "a-b"),
            ("100644", "blob", blob["a0"], "a0"),
        ]
    )
    assert new_tree.sha == root_2
    assert [item.path for item in new_tree.tree] == ["README.md", "a-b", "a.txt", "a", "a0"]
    assert {item.path: item.mode for item in new_tree.tree}["a"] == "040000"

    author_2 = InputGitAuthor(NAME, EMAIL, DATE_2)
    message = "Add the lab files\n\nSeeded by the course platform."
    parent = repo.get_git_commit(commit_1)
    commit = repo.create_git_commit(message, new_tree, [parent], author_2, author_2)
    assert commit.sha == git.commit(root_2, message, [commit_1], STAMP_2)
    head.edit(commit.sha)
    assert repo.get_branch("main").commit.sha == commit.sha

    # Same files again: same tree id (this is how a client knows there is nothing to commit).
    again = repo.create_git_tree(elements, base_tree=repo.get_git_tree(root_2))
    assert again.sha == root_2
    # Deleting through sha=None and reading recursively.
    removed = repo.create_git_tree(
        [InputGitTreeElement("a/deeper/c.md", "100644", "blob", sha=None)],
        base_tree=repo.get_git_tree(root_2),
    )
    paths = [item.path for item in repo.get_git_tree(removed.sha, recursive=True).tree]
    assert "a/deeper" not in paths and "a/deeper/c.md" not in paths
    assert "a/b.txt" in paths


def test_ref_update_must_fast_forward_unless_forced(repo) -> None:
    author = InputGitAuthor(NAME, EMAIL, DATE_1)
    repo.create_file("README.md", "init", "v1\n", committer=author, author=author)
    head = repo.get_git_ref("heads/main")
    first = repo.get_git_commit(head.object.sha)
    tree = repo.create_git_tree(
        [InputGitTreeElement("other.txt", "100644", "blob", content="x")], base_tree=first.tree
    )
    child = repo.create_git_commit("child", tree, [first])
    sibling = repo.create_git_commit("sibling", tree, [])  # unrelated history
    head.edit(child.sha)

    with pytest.raises(GithubException) as caught:
        head.edit(sibling.sha)
    assert caught.value.status == 422
    assert caught.value.data["message"] == "Update is not a fast forward"
    assert repo.get_git_ref("heads/main").object.sha == child.sha

    with pytest.raises(GithubException) as backwards:
        head.edit(first.sha)  # moving back is not a fast-forward either
    assert backwards.value.status == 422

    head.edit(sibling.sha, force=True)
    assert repo.get_git_ref("heads/main").object.sha == sibling.sha


def test_refs_create_list_and_delete(repo) -> None:
    repo.create_file("README.md", "init", "v1\n")
    sha = repo.get_git_ref("heads/main").object.sha
    created = repo.create_git_ref("refs/heads/feature/x", sha)
    assert created.ref == "refs/heads/feature/x"
    with pytest.raises(GithubException) as caught:
        repo.create_git_ref("refs/heads/feature/x", sha)
    assert caught.value.status == 422
    assert caught.value.data["message"] == "Reference already exists"
    assert [ref.ref for ref in repo.get_git_refs()] == ["refs/heads/feature/x", "refs/heads/main"]
    assert repo.get_branch("feature/x").commit.sha == sha
    created.delete()
    with pytest.raises(github.UnknownObjectException):
        repo.get_git_ref("heads/feature/x")
