"""The README is read in five minutes and says what the code does: short, its links resolve, and
every troubleshooting row names a message the workflow really prints."""

import ast
import re

from conftest import REPO

README = (REPO / "README.md").read_text()
# Parts of messages written by Snakemake or jsonschema, not by this workflow.
EXTERNAL = ("is not of type", "Additional properties are not allowed", "IncompleteFilesException", "LockException",
            "Updated input files")


def source_strings():
    """Every string literal of the package, adjacent literals joined, f-string fields as NUL."""
    strings = []
    for path in (REPO / "workflow" / "scripts" / "edsmaps").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                strings.append(node.value)
            elif isinstance(node, ast.JoinedStr):
                strings.append("".join(v.value if isinstance(v, ast.Constant) else "\0" for v in node.values))
    return strings


def words(fragment):
    """The words of a message fragment that are the message's own: example values (quoted,
    bracketed or braced, numbers, sizes, one-letter placeholders) left out."""
    plain = re.sub(r"'[^']*'|\"[^\"]*\"|\{[^}]*\}|\[[^\]]*\]|\([^)]*\)", " ", fragment)
    return [w for w in re.findall(r"[A-Za-z_.]+", plain) if len(w) > 1 and not re.fullmatch(r"[A-Z]", w)
            and not w.strip(".").isupper()]


def said_by_the_code(fragment, strings):
    """Whether some string of the package holds the fragment's words, in order, in its literal text."""
    wanted = [w.strip(".") for w in words(fragment) if w.strip(".")]
    for text in strings:
        literal = text.replace("\0", " ")
        position = 0
        for word in wanted:
            found = literal.find(word, position)
            if found < 0:
                break
            position = found + len(word)
        else:
            return True
    return False


def troubleshooting_rows():
    section = README.split("## Troubleshooting", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("| ") and "`" in line.split(" | ")[0]]


def test_the_readme_is_short_and_its_links_resolve():
    assert len(README.splitlines()) <= 250
    for target in re.findall(r"\]\(([^)#]+)\)", README):
        assert (REPO / target).exists(), target


def test_every_troubleshooting_row_names_a_message_the_workflow_prints():
    strings = source_strings()
    rows = troubleshooting_rows()
    assert len(rows) >= 15
    for row in rows:
        message = row.split(" | ")[0]
        for quoted in re.findall(r"`([^`]+)`", message):
            for fragment in quoted.split("…"):
                if any(part in fragment for part in EXTERNAL) or not words(fragment):
                    continue
                assert said_by_the_code(fragment, strings), f"README row {row[:80]!r}: no message says {fragment!r}"


def test_the_word_check_catches_a_row_that_contradicts_its_message():
    strings = source_strings()
    assert said_by_the_code("values above 1 for an atomic fraction", strings)
    assert not said_by_the_code("values below 1 for an atomic fraction", strings)
    assert not said_by_the_code("use a finer block_grid", strings)
