"""A semester's file of courses with planted bad rows, for the import tests."""

from __future__ import annotations

HEADER = "name,semester,type,groups,discordGuildId"
EXISTING = "Existing Course"  # created before the import: a row reusing it clashes

# line -> (the row, the field at fault); line 1 is the header.
BAD_ROWS = {
    7: ("Course Bad Semester,2026-autumn,lecture,,", "semester"),
    23: ("Course Bad Type,2026-fall,seminar,,", "type"),
    51: (",2026-fall,lecture,,", "name"),
    88: ("Course Lecture Groups,2026-fall,lecture,Monday;Thursday,", "groups"),
    120: ("Course Bad Guild,2026-fall,lecture,,123", "discordGuildId"),
    150: ("Course 0012!,2026-fall,lecture,,", "name"),  # line 13's repository, in the file
    199: (f"{EXISTING},2026-fall,lecture,,", "name"),  # an existing course's
}
LABORATORIES = {40, 80, 160}  # two groups each


def semester_csv(rows: int = 200) -> str:
    """``rows`` courses: lectures, three 2-group laboratories, and ``BAD_ROWS``."""
    lines = [HEADER]
    for line in range(2, rows + 2):
        if line in BAD_ROWS:
            lines.append(BAD_ROWS[line][0])
        elif line in LABORATORIES:
            lines.append(f"Lab {line:04d},2026-fall,laboratory,Monday;Thursday,")
        else:
            lines.append(f"Course {line - 1:04d},2026-fall,lecture,,")
    return "\n".join(lines) + "\n"
