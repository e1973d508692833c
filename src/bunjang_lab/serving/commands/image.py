"""``python -m bunjang_lab.score image FILE... --index PATH``: reused photos and text in images.

Prints, for each file in order, one JSON object per line: ``{"image", "matches": [{"image",
"listing", "seller", "distance"}], "ocr_text", "risk", "flagged", "reasons"}``, or
``{"image", "error", "error_code"}`` for a file that is not a usable picture (the batch
carries on; the exit code is 1 when any file failed). The files named here may lie
anywhere; URLs obey the image protocols, time and size limits (``docs/images.md``). A
picture of a confirmed scam on the cache's blocklist (``score event``), or a copy of one the
matcher verified, gives a ``confirmed_image`` reason.
"""

from __future__ import annotations

from bunjang_lab.cli import parser
from bunjang_lab.serving.commands.common import emit


def run(argv: list[str]) -> int:
    p = parser("python -m bunjang_lab.score image", "Reused-photo matches and text-in-image fraud for image files.")
    p.add_argument("files", nargs="+", metavar="FILE", help="image files (JPEG, PNG, GIF, WebP...)")
    p.add_argument("--index", default=None, help="image index folder (default: BUNJANG_HOME/image_index)")
    p.add_argument("--no-ocr", action="store_true", help="skip reading text in the pictures")
    p.add_argument("--cache", default=None, help="cache URL of the confirmed-scam blocklist (default: BUNJANG_CACHE_URL)")
    args = p.parse_args(argv)
    from bunjang_lab.fraud.images.cli import default_index
    from bunjang_lab.fraud.images.scan import scan_images
    from bunjang_lab.fraud.images.sources import ImageSources
    from bunjang_lab.serving.commands.text import blocklist_from_args

    results = scan_images(args.files, args.index or default_index(), ocr=not args.no_ocr,
                          sources=ImageSources.from_env().any_local_path(), blocklist=blocklist_from_args(args))
    for result in results:
        emit(result)
    return 1 if any("error" in r for r in results) else 0
