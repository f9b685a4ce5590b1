"""LinkChecker's command line, run as ``python tests/_linkchecker.py ARGS`` by
test_site_links.py, with two changes that keep its checks and its report as they are.

As the test's user: LinkChecker run as root switches to the user nobody (os.seteuid) before
it imports its plugins and parsers, lazily. In a checkout nobody cannot read (a clone under
a 0700 folder, as ``mktemp -d`` makes) those imports failed, the anchor check was skipped
without a word, and no "Anchor not found" was ever reported (three fresh-clone runs of
2026-12-06). The crawl reads only the test's server on 127.0.0.1.

Each page parsed once: with the AnchorCheck plugin, LinkChecker fetches every ``URL#anchor``
on its own, parses the page again into a tree and walks the whole tree again for its
anchors. On the book (61 pages, 747 anchored URLs) that was 210 of the crawl's 217 s. Here
the same bytes give the same tree (read-only afterwards), and the anchors of a tree are
collected once and handed to each anchored URL's check as LinkChecker found them.
"""

from __future__ import annotations

import functools
import os
import sys


def _parse_each_page_once() -> None:
    from linkcheck.htmlutil import htmlsoup, linkparse

    htmlsoup.make_soup = functools.lru_cache(maxsize=None)(htmlsoup.make_soup)
    find_links = linkparse.find_links
    anchors_of: dict[int, tuple[object, list]] = {}  # id(tree) -> (tree, callback arguments)

    def find_anchors_once(soup, callback, tags):
        if tags is not linkparse.AnchorTags:
            return find_links(soup, callback, tags)
        if id(soup) not in anchors_of:
            found: list = []
            find_links(soup, lambda *args, **kwargs: found.append((args, kwargs)), tags)
            anchors_of[id(soup)] = (soup, found)  # the tree is kept, so its id stays its own
        for args, kwargs in anchors_of[id(soup)][1]:
            callback(*args, **kwargs)

    linkparse.find_links = find_anchors_once


if __name__ == "__main__":
    os.seteuid = lambda uid: None
    _parse_each_page_once()
    from linkcheck.command.linkchecker import linkchecker

    sys.argv[0] = "linkchecker"
    sys.exit(linkchecker())
