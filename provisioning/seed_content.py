"""The files seeded into each repository, rendered from ``provisioning/seed_templates/``
(package data: an installed copy has them)."""

from __future__ import annotations

from pathlib import Path

from django.template import Context, Engine

from courses.models import Course, LabGroup

# Repository path -> template. Markdown, so no HTML autoescaping.
SEED_FILES = {
    "README.md": "README.md",
    "syllabus.md": "syllabus.md",
    "CONTRIBUTING.md": "CONTRIBUTING.md",
    ".github/pull_request_template.md": "pull_request_template.md",
    "assignments/ASSIGNMENT_TEMPLATE.md": "assignment_template.md",
}

_engine = Engine(dirs=[str(Path(__file__).resolve().parent / "seed_templates")], autoescape=False)


def render_seed_files(
    course: Course, lab_group: LabGroup | None, *, repo_name: str
) -> dict[str, str]:
    context = Context(
        {
            "course": course,
            "lab_group": lab_group,
            "repo_name": repo_name,
            "discord_url": (
                f"https://discord.com/channels/{course.discord_guild_id}"
                if course.discord_guild_id
                else ""
            ),
        }
    )
    return {
        path: _engine.get_template(template).render(context)
        for path, template in SEED_FILES.items()
    }
