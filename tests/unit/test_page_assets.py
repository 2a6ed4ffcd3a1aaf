"""The pages as served: each put together from its file and the parts it names."""

from __future__ import annotations

import pytest

from sales_scorecard.streams.page_assets import PAGES, PART, Asset, page_html, static_file


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.route)
def test_a_page_is_one_document_with_its_parts_in_place(page: Asset) -> None:
    html = page_html(page.file).decode()
    # the doctype first (anything before it puts the browser in quirks mode), one head, one body
    assert html.startswith("<!doctype html>\n<html lang=\"en\">\n<head>\n")
    assert html.count("<head>") == html.count("</head>") == html.count("<body>") == 1
    assert html.index("<title>") < html.index("</head>") < html.index("<body>")
    assert '<link rel="stylesheet" href="/static/scorecard.css">' in html
    assert not PART.search(html.encode()), "a part left unfilled"
    # the shared appeal form, once, with the ids the page scripts wire up
    assert html.count('<form id="appeal-form" hidden>') == 1
    assert static_file("appeal-form.html").decode().strip() in html


def test_each_page_has_its_title() -> None:
    titles = {p.route: page_html(p.file).decode().split("<title>")[1].split("</title>")[0] for p in PAGES}
    assert titles == {"/": "Sales leaderboard", "/me": "My scorecard"}
