"""``python -m bunjang_lab.score <command>``: serving answers from the cache.

Only the standard library is imported on the lookup path, so a whole process answers
in milliseconds; commands that need models import them when they run.
"""

import sys

from bunjang_lab.cli import Command, main

COMMANDS = [
    Command("recommend", "bunjang_lab.serving.commands.recommend", "a user's home feed (segment or global list for unknown users)"),
    Command("popular", "bunjang_lab.serving.commands.popular", "the popular list, overall or for a gender/age segment"),
    Command("related", "bunjang_lab.serving.commands.related", "related items (substitutes) for a listing"),
    Command("suggest", "bunjang_lab.serving.commands.suggest", "search keyword suggestions for a typed prefix"),
    Command("ads", "bunjang_lab.serving.commands.ads", "the ads of a request (home, search, detail) blended into its list"),
    Command("event", "bunjang_lab.serving.commands.event", "apply click/favorite/search/listing events to the cache in real time"),
    Command("text", "bunjang_lab.serving.commands.text", "fraud risk and reasons for a text or a JSON Lines batch"),
    Command("image", "bunjang_lab.serving.commands.image", "reused-photo matches and text-in-image fraud for image files"),
    Command("listing", "bunjang_lab.serving.commands.listing", "fraud risk for a whole listing (text, images and seller)"),
    Command("cache", "bunjang_lab.serving.commands.cache", "what the cache holds: versions, key counts and sizes, one key's value"),
    Command("serve", "bunjang_lab.serving.commands.serve", "the HTTP service: lookups, events and fraud scoring in one process"),
]

if __name__ == "__main__":
    sys.exit(main("python -m bunjang_lab.score", "Serving lookups of bunjang_lab.", COMMANDS))
