"""Which files the demo generator writes, and the marker that proves a folder is the demo's.

The generator writes ``.edsmaps-demo.json`` (with its seed) into ``data.folder`` before any scan,
and the workflow refuses, while it parses, to generate into a folder that holds anything the
demo could not have written: Snakemake deletes a job's existing outputs before the job runs,
so a user's own files named like the demo's would be lost. Standard library only.
"""

import json
import os
import re
import string
from pathlib import Path

ELEMENTS = ("O", "Si", "Ge", "Sb", "Te", "Au")
MARKER = ".edsmaps-demo.json"
HAADF_TEMPLATE = "{scan}-HAADF.mrc"  # where the demo puts HAADF when data.haadf is null
TRUTH_FOLDER = "truth"
_SCAN_ID = r"[A-Za-z0-9_.-]+"
_PARTIAL = re.compile(r"(^|/)\.[^/]*\.partial-\d+[^/]*$")  # edsmaps.atomic's temporary names


def write_marker(folder, seed):
    """Mark ``folder`` as the demo's (JSON with the seed), atomically."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f"{MARKER}.partial-{os.getpid()}"
    tmp.write_text(json.dumps({"written_by": "edsmaps demo generator", "seed": seed}) + "\n")
    os.replace(tmp, folder / MARKER)


def template_pattern(template):
    """Regex matching the names a file template gives for any scan id and demo element."""
    parts = []
    for literal, field, _, _ in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if field == "scan":
            parts.append(_SCAN_ID)
        elif field == "element":
            parts.append("(" + "|".join(ELEMENTS) + ")")
        elif field is not None:
            parts.append("[^/]+")
    return re.compile("".join(parts))


def demo_file_patterns(data):
    """Regexes of every path (relative to ``data.folder``) the demo writes for the ``data`` config."""
    templates = [data["diffraction"], data["eds"], data.get("haadf") or HAADF_TEMPLATE]
    templates += [data["eds_counts"]] if data.get("eds_counts") else []
    patterns = [template_pattern(t) for t in templates]
    patterns.append(re.compile(re.escape(TRUTH_FOLDER) + "/" + _SCAN_ID + r"\.npz"))
    return patterns


def foreign_files(folder, data):
    """Files under ``folder`` the demo would not have written (relative paths, sorted), and
    whether the demo's marker is there. A missing folder holds nothing."""
    folder = Path(folder)
    if not folder.is_dir():
        return [], False
    patterns = demo_file_patterns(data)
    foreign = []
    for path in sorted(folder.rglob("*")):
        if path.is_dir():
            continue
        name = path.relative_to(folder).as_posix()
        if name == MARKER or _PARTIAL.search(name) or any(p.fullmatch(name) for p in patterns):
            continue
        foreign.append(name)
    return foreign, (folder / MARKER).exists()


def demo_folder_problem(folder, data):
    """Why the demo must not generate into ``folder``, or None when it may.

    It may when the folder is missing or empty, or holds only files the demo writes beside its
    marker. Files without the marker may be a user's own data named like the demo's.
    """
    foreign, marked = foreign_files(folder, data)
    holds_files = Path(folder).is_dir() and any(p.is_file() for p in Path(folder).rglob("*"))
    if foreign:
        listing = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        return (f"data.folder '{folder}' holds files the demo did not write ({listing}); the demo would "
                "generate its scans beside them. If this is your data, set demo.enabled: false; otherwise "
                "point data.folder at an empty folder under resources/.")
    if holds_files and not marked:
        return (f"data.folder '{folder}' holds files without the demo's marker {MARKER}: they may be your own "
                "data named like the demo's, which generating the demo would overwrite. If this is your data, "
                "set demo.enabled: false; to regenerate the demo, delete the folder.")
    return None
