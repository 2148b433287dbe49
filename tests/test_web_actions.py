"""Browser actions on the fixture site, in a real headless Chromium (one per module).

Each test acts through `perform` exactly as the step loop does (arguments validated,
the page settled, new tabs followed, files saved, the result observed) and checks what
the observation says and what happened on the page.
"""

from __future__ import annotations

import pytest
from test_web_fixture_site import (  # noqa: F401 - the fixtures are used by name
    FixtureSite,
    Harness,
    driver_fixture,
    element_id,
    harness_fixture,
    site_fixture,
)

from specialists.web_surfer.act_read import page_text
from specialists.web_surfer.markdown import split_parts

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_a_form_is_filled_and_submitted_after_approval(
    harness: Harness, site: FixtureSite
) -> None:
    await harness.act("visit_url", url=f"{site.url}/form.html")
    name = element_id(harness, "textbox", "Your name")
    assert (await harness.act("type", id=name, text="Ada")).ok
    bread = element_id(harness, "combobox", "Bread")
    chosen = await harness.act("select_option", id=bread, option="sourdough")
    assert chosen.ok, chosen.text
    await harness.act("click", id=element_id(harness, "checkbox", "Toasted"))
    observed = harness.driver.last
    assert observed is not None
    assert any(e.name == "Toasted" and "checked" in e.states for e in observed.elements)
    assert any(e.name == "Bread" and e.value == "Sourdough" for e in observed.elements)
    submitted = await harness.act("click", id=element_id(harness, "button", "Place order"))
    assert submitted.ok, submitted.text
    (request,) = harness.approvals
    assert (request.action, request.risky) == ("submit form", True)
    assert "name=Ada" in request.detail
    assert "bread=sourdough" in request.detail
    assert submitted.observation is not None
    assert "Thank you, Ada: one sourdough sandwich, toasted." in submitted.observation.text


async def test_a_refused_submission_is_reported_and_nothing_is_sent(
    harness: Harness, site: FixtureSite
) -> None:
    harness.deny.add("submit form")
    await harness.act("visit_url", url=f"{site.url}/form.html")
    await harness.act("type", id=element_id(harness, "textbox", "Your name"), text="Bo")
    refused = await harness.act(
        "type", id=element_id(harness, "textbox", "Your name"), text="Bo", submit=True
    )
    assert not refused.ok
    assert "'submit form' was not approved" in refused.text
    assert refused.observation is not None
    assert refused.observation.url.endswith("/form.html")  # still on the form


async def test_typing_into_a_login_form_then_the_pdf_behind_it_is_fetched_with_its_cookies(
    harness: Harness, site: FixtureSite
) -> None:
    await harness.act("visit_url", url=f"{site.url}/login.html")
    await harness.act("type", id=element_id(harness, "textbox", "Username"), text="alice")
    signed_in = await harness.act(
        "type", id=element_id(harness, "textbox", "Password"), text="correct horse", submit=True
    )
    assert signed_in.observation is not None
    assert signed_in.observation.url.endswith("/account")
    assert "Welcome back, alice" in signed_in.observation.text
    assert "correct horse" not in signed_in.observation.render()
    opened = await harness.act("click", id=element_id(harness, "link", "Your statement (PDF)"))
    assert opened.observation is not None
    document = opened.observation.document
    assert document is not None, opened.observation.render()
    assert "Total revenue: 4.2 million euros." in document
    (saved,) = harness.workspace.joinpath("downloads").iterdir()
    assert saved.read_bytes().startswith(b"%PDF-")
    assert [r.action for r in harness.approvals] == ["submit form", "download"]


async def test_a_redirect_chain_lands_once_in_history_and_back_skips_it(
    harness: Harness, site: FixtureSite
) -> None:
    await harness.act("visit_url", url=f"{site.url}/index.html")
    landed = await harness.act("visit_url", url=f"{site.url}/r/1")
    assert landed.observation is not None
    assert landed.observation.url == f"{site.url}/second.html"
    assert harness.driver.tab.history.entries == [
        f"{site.url}/index.html",
        f"{site.url}/second.html",
    ]
    back = await harness.act("back")
    assert back.observation is not None
    assert back.observation.url == f"{site.url}/index.html"
    forward = await harness.act("forward")
    assert forward.observation is not None
    assert forward.observation.url == f"{site.url}/second.html"
    assert not (await harness.act("forward")).ok


async def test_in_page_anchors_are_history_entries(harness: Harness, site: FixtureSite) -> None:
    await harness.act("visit_url", url=f"{site.url}/long.html")
    await harness.act("visit_url", url=f"{site.url}/long.html#end")
    back = await harness.act("back")
    assert back.observation is not None
    assert back.observation.url == f"{site.url}/long.html"
    assert harness.driver.tab.history.index == 0


async def test_a_new_tab_and_a_popup_are_followed_announced_and_closable(
    harness: Harness, site: FixtureSite
) -> None:
    await harness.act("visit_url", url=f"{site.url}/tabs.html")
    opened = await harness.act(
        "click", id=element_id(harness, "link", "Open the second page in a new tab")
    )
    assert opened.observation is not None
    assert opened.observation.url == f"{site.url}/second.html"
    assert (opened.observation.tab, opened.observation.tabs) == (2, 2)
    assert any("opened a new tab: tab 2" in note for note in opened.observation.notes)
    await harness.act("switch_tab", tab=1)
    popup = await harness.act("click", id=element_id(harness, "button", "Open a popup"))
    assert popup.observation is not None
    assert "marmalade" in popup.observation.text
    assert any("opened a new tab: tab 3" in note for note in popup.observation.notes)
    listed = await harness.act("list_tabs")
    assert len([line for line in listed.text.splitlines() if line.startswith("tab ")]) == 3
    assert "tab 3 (current)" in listed.text
    closed = await harness.act("click", id=element_id(harness, "button", "Close this popup"))
    assert closed.observation is not None
    assert closed.observation.tabs == 2
    await harness.act("close_tab", tab=2)
    assert harness.driver.tabs.describe() == [f"tab 1 (current): {site.url}/tabs.html"]


async def test_shadow_dom_elements_are_numbered_and_usable(
    harness: Harness, site: FixtureSite
) -> None:
    await harness.act("visit_url", url=f"{site.url}/shadow.html")
    observed = harness.driver.last
    assert observed is not None
    like = next(e for e in observed.elements if e.name == "Like this page")
    assert like.shadow
    assert "in shadow DOM" in like.line()
    await harness.act("click", id=like.id)
    await harness.act("click", id=element_id(harness, "button", "Like this page"))
    assert harness.driver.last is not None
    assert "Likes: 2" in harness.driver.last.text
    typed = await harness.act("type", id=element_id(harness, "textbox", "Comment"), text="nice")
    assert typed.observation is not None
    assert any(e.name == "Comment" and e.value == "nice" for e in typed.observation.elements)


async def test_same_origin_iframe_elements_are_numbered_and_usable(
    harness: Harness, site: FixtureSite
) -> None:
    await harness.act("visit_url", url=f"{site.url}/frame.html")
    email = element_id(harness, "textbox", "Email")
    observed = harness.driver.last
    assert observed is not None
    assert observed.element(email) is not None
    assert "in iframe newsletter" in observed.element(email).line()  # type: ignore[union-attr]
    await harness.act("type", id=email, text="ada@example.org")
    done = await harness.act("click", id=element_id(harness, "button", "Subscribe"))
    assert done.observation is not None
    assert "Subscribed: ada@example.org" in done.observation.text


async def test_a_click_under_a_cookie_banner_says_what_covers_it(
    harness: Harness, site: FixtureSite
) -> None:
    await harness.act("visit_url", url=f"{site.url}/consent.html")
    story = element_id(harness, "button", "Read the full story")
    observed = harness.driver.last
    assert observed is not None
    assert "covered by div#consent[role=dialog]" in observed.element(story).line()  # type: ignore[union-attr]
    blocked = await harness.act("click", id=story)
    assert not blocked.ok
    assert "covered by div#consent[role=dialog]" in blocked.text
    assert "We use cookies" in blocked.text
    await harness.act("click", id=element_id(harness, "button", "Accept all"))
    read = await harness.act("click", id=element_id(harness, "button", "Read the full story"))
    assert read.ok, read.text
    assert read.observation is not None
    assert "the river festival moves to Saturday" in read.observation.text


async def test_scrolling_an_endless_feed_loads_more(harness: Harness, site: FixtureSite) -> None:
    first = await harness.act("visit_url", url=f"{site.url}/feed.html")
    assert first.observation is not None
    assert "Post 1:" in first.observation.text
    assert "Post 6:" not in first.observation.text
    await harness.act("scroll", direction="bottom")
    bottom = await harness.act("scroll", direction="bottom")
    assert bottom.observation is not None
    assert "Post 10:" in bottom.observation.text or "Post 15:" in bottom.observation.text
    assert bottom.observation.scroll.y > 0
    top = await harness.act("scroll", direction="top")
    assert top.observation is not None
    assert top.observation.scroll.y == 0
    assert "at the top" in (await harness.act("scroll", direction="up")).text


async def test_a_page_that_never_finishes_loading_is_observed_after_a_bounded_wait(
    harness: Harness, site: FixtureSite
) -> None:
    slow = await harness.act("visit_url", url=f"{site.url}/never")
    assert slow.ok
    assert slow.observation is not None
    assert "The first part arrived." in slow.observation.text
    # Loading is stopped, so that later actions do not wait for the silent server again.
    assert any(
        "still loading after 3 s; loading was stopped" in note for note in slow.observation.notes
    )
    assert any(e.name == "A link in the first part" for e in slow.observation.elements)


async def test_a_pdf_link_lands_in_the_workspace_with_its_first_page(
    harness: Harness, site: FixtureSite
) -> None:
    await harness.act("visit_url", url=f"{site.url}/docs.html")
    opened = await harness.act("click", id=element_id(harness, "link", "Annual report (PDF)"))
    assert opened.observation is not None
    document = opened.observation.document or ""
    assert "2 page(s)" in document
    assert "Harbour Tea Company - Annual Report 2024" in document
    assert "Chair: Morag Lindsay" not in document  # page 2 is not in the first view
    whole = await harness.act("read_page")
    assert "--- page 2 ---" in whole.text
    assert "Chair: Morag Lindsay" in whole.text
    assert (harness.workspace / "downloads" / "report.pdf").is_file()


async def test_downloads_are_saved_and_announced(harness: Harness, site: FixtureSite) -> None:
    await harness.act("visit_url", url=f"{site.url}/docs.html")
    linked = await harness.act("click", id=element_id(harness, "link", "Meeting notes (download)"))
    notes = harness.workspace / "downloads" / "notes.txt"
    assert notes.read_text().startswith("Meeting notes")
    assert linked.observation is not None
    assert any(f"to {notes}" in note for note in linked.observation.notes)
    attached = await harness.act("visit_url", url=f"{site.url}/files/data.csv")
    csv = harness.workspace / "downloads" / "visitors.csv"
    assert csv.read_text().startswith("city,visitors")
    assert attached.observation is not None
    assert "is a file" in attached.text  # said in the result of visit_url
    fetched = await harness.act("download", url=f"{site.url}/notes.txt")
    assert fetched.ok
    assert "notes-1.txt" in fetched.text
    assert [r.action for r in harness.approvals] == ["download"] * 3


async def test_a_refused_download_saves_nothing(harness: Harness, site: FixtureSite) -> None:
    harness.deny.add("download")
    await harness.act("visit_url", url=f"{site.url}/docs.html")
    refused = await harness.act(
        "download", id=element_id(harness, "link", "Meeting notes (download)")
    )
    assert not refused.ok
    assert "was not approved" in refused.text
    assert not (harness.workspace / "downloads").exists()


async def test_an_element_re_rendered_after_the_observation_is_found_again(
    harness: Harness, site: FixtureSite
) -> None:
    await harness.act("visit_url", url=f"{site.url}/rerender.html")
    rent = element_id(harness, "button", "Pay rent")
    await harness.driver.tab.page.evaluate("window.rerender()")  # the page re-renders itself
    clicked = await harness.act("click", id=rent)
    assert clicked.ok, clicked.text
    assert clicked.observation is not None
    assert "picked Pay rent" in clicked.observation.text
    assert any("re-rendered; found it again" in note for note in clicked.observation.notes)
    rent = element_id(harness, "button", "Pay rent")
    await harness.driver.tab.page.evaluate("window.dropRent()")
    gone = await harness.act("click", id=rent)
    assert not gone.ok
    assert f'[{rent}] button "Pay rent" is no longer on the page' in gone.text


async def test_hover_opens_a_menu(harness: Harness, site: FixtureSite) -> None:
    await harness.act("visit_url", url=f"{site.url}/menu.html")
    observed = harness.driver.last
    assert observed is not None
    assert all(e.name != "Teapots" for e in observed.elements)
    hovered = await harness.act("hover", id=element_id(harness, "generic", "Products"))
    assert hovered.observation is not None
    assert any(e.name == "Teapots" for e in hovered.observation.elements)


async def test_find_on_page_scrolls_to_each_match(harness: Harness, site: FixtureSite) -> None:
    await harness.act("visit_url", url=f"{site.url}/long.html")
    found = await harness.act("find_on_page", text="Agnes Thorvald")
    assert "occurs 1 time(s)" in found.text
    assert found.observation is not None
    assert found.observation.scroll.y > 0
    assert "Agnes Thorvald" in found.observation.text
    missing = await harness.act("find_on_page", text="no such words here")
    assert "does not occur" in missing.text


async def test_read_page_pages_the_main_content_with_markers(
    harness: Harness, site: FixtureSite
) -> None:
    await harness.act("visit_url", url=f"{site.url}/long.html")
    first = await harness.act("read_page")
    assert "# The lighthouse on Skerry Point" in first.text
    assert "part 1 of" in first.text
    assert "call read_page with part=2" in first.text
    assert "Fixture footer text" not in first.text
    assert "untrusted page content" in first.text
    last_part = int(first.text.split("part 1 of ")[1].split(":")[0])
    last = await harness.act("read_page", part=last_part)
    assert "[end of the page]" in last.text
    assert "Related: the second page [1]" in last.text
    assert f"[1]: {site.url}/second.html" in last.text
    too_far = await harness.act("read_page", part=last_part + 1)
    assert not too_far.ok
    assert f"parts 1 to {last_part}" in too_far.text


async def test_answer_question_maps_over_chunks_and_combines(
    harness: Harness, site: FixtureSite
) -> None:
    harness.driver.settings = harness.driver.settings.model_copy(
        update={"answer_chunk_chars": 8000}
    )
    try:
        await harness.act("visit_url", url=f"{site.url}/long.html")
        _, text = await page_text(harness.driver.tab)
        chunks = split_parts(text, 8000)
        assert len(chunks) >= 3
        fact_at = next(i for i, chunk in enumerate(chunks) if "Agnes Thorvald" in chunk)
        replies = ["NOT FOUND"] * len(chunks)
        replies[fact_at] = "Agnes Thorvald"
        harness.script("web_surfer.answer", [*replies, "Agnes Thorvald kept the light."])
        answered = await harness.act("answer_question", question="Who kept the lighthouse?")
    finally:
        harness.driver.settings = harness.driver.settings.model_copy(
            update={"answer_chunk_chars": 12000}
        )
    assert answered.ok, answered.text
    assert answered.text == "answer from the page: Agnes Thorvald kept the light."
    requests = harness.model.requests
    assert len(requests) == len(chunks) + 1  # one call per chunk, then one to combine
    assert [("Agnes Thorvald" in r.messages[1].content) for r in requests[:-1]] == [
        i == fact_at for i in range(len(chunks))
    ]
    assert f"Part {fact_at + 1}: Agnes Thorvald" in requests[-1].messages[1].content
    assert harness.model.unused() == {}


async def test_a_dialog_is_declined_and_announced(harness: Harness, site: FixtureSite) -> None:
    await harness.act("visit_url", url=f"{site.url}/form.html")
    asked = await harness.act("click", id=element_id(harness, "button", "Cancel order"))
    assert asked.observation is not None
    assert "Cancel order kept" in asked.observation.text
    assert any("confirm dialog ('Really cancel?'); declined" in n for n in asked.observation.notes)


async def test_upload_attaches_a_workspace_file_after_approval(
    harness: Harness, site: FixtureSite
) -> None:
    (harness.workspace / "photo.txt").write_text("not really a photo")
    await harness.act("visit_url", url=f"{site.url}/form.html")
    field = element_id(harness, "file upload", "Photo")
    outside = await harness.act("upload_file", id=field, path="../etc/passwd")
    assert not outside.ok
    assert "outside the workspace" in outside.text
    attached = await harness.act("upload_file", id=field, path="photo.txt")
    assert attached.ok, attached.text
    assert attached.observation is not None
    assert any(e.name == "Photo" and e.value == "photo.txt" for e in attached.observation.elements)
    assert [(r.action, r.risky) for r in harness.approvals] == [("upload file", True)]


async def test_bad_arguments_and_unknown_ids_go_back_to_the_model(
    harness: Harness, site: FixtureSite
) -> None:
    await harness.act("visit_url", url=f"{site.url}/index.html")
    unknown = await harness.act("clack", id=1)
    assert "unknown action 'clack'; the actions are: search, visit_url, click" in unknown.text
    invalid = await harness.act("click", id="first")
    assert invalid.text.startswith("error: click: invalid arguments: id:")
    missing = await harness.act("click", id=999)
    assert "there is no element [999] in the current observation" in missing.text
    both = await harness.act("download", url="http://x", id=2)
    assert "give exactly one of url or id" in both.text


async def test_a_redirect_to_the_metadata_address_is_blocked_at_every_hop(
    harness: Harness, site: FixtureSite
) -> None:
    blocked = await harness.act("visit_url", url=f"{site.url}/to-metadata")
    assert blocked.observation is not None
    assert "Blocked by the web surfer's URL policy" in blocked.observation.text
    assert any("cloud-metadata endpoint" in note for note in blocked.observation.notes)
    direct = await harness.act("visit_url", url="http://169.254.169.254/latest/meta-data/")
    assert not direct.ok
    assert "cloud-metadata endpoint" in direct.text
    fetched = await harness.act("download", url=f"{site.url}/to-metadata")
    assert not fetched.ok
    assert "cloud-metadata endpoint" in fetched.text


async def test_keys_are_pressed_and_enter_in_a_form_asks_first(
    harness: Harness, site: FixtureSite
) -> None:
    await harness.act("visit_url", url=f"{site.url}/form.html")
    await harness.act("type", id=element_id(harness, "textbox", "Your name"), text="Cy")
    wrong = await harness.act(
        "select_option", id=element_id(harness, "combobox", "Bread"), option="Pumpernickel"
    )
    assert not wrong.ok
    assert (
        "has no option 'Pumpernickel'; its options are: 'White', 'Rye', 'Sourdough'" in wrong.text
    )
    await harness.act("click", id=element_id(harness, "textbox", "Your name"))
    tabbed = await harness.act("press_key", key="Tab")
    assert tabbed.ok
    assert harness.approvals == []
    assert any(e.name == "Bread" and "focused" in e.states for e in tabbed.observation.elements)  # type: ignore[union-attr]
    await harness.act("click", id=element_id(harness, "textbox", "Your name"))
    entered = await harness.act("press_key", key="Enter")
    assert [r.action for r in harness.approvals] == ["submit form"]
    assert entered.observation is not None
    assert "Thank you, Cy: one white sandwich." in entered.observation.text
