"""Actions on numbered elements: click, type, select, hover, keys, upload, download.

Before a click the element is scrolled into view and hit-tested: if something else
(a cookie banner, a modal) is on top of it, nothing is clicked and the model is told
what covers it. Submitting a form, uploading and downloading pass the run's approval
policy first.
"""

from __future__ import annotations

from typing import Any

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout

from specialists.web_surfer import page_scripts
from specialists.web_surfer.driver import ActionError, Located
from specialists.web_surfer.toolbox import (
    ActionEnv,
    DownloadArgs,
    ElementArgs,
    KeyArgs,
    SelectArgs,
    TypeArgs,
    UploadArgs,
)

SUBMITS = "submits form"
NEW_TAB = "opens new tab"


async def _prepare(env: ActionEnv, number: int) -> Located:
    located = await env.driver.locate(number)
    if located.note:
        env.notes.append(located.note)
    await located.locator.scroll_into_view_if_needed()
    return located


async def _approve_submit(env: ActionEnv, located: Located, detail: str | None = None) -> None:
    """Ask to submit the form `located` is in; once approved, its own request is not
    asked about again by the request guard."""
    form: dict[str, Any] | None = await located.locator.evaluate(page_scripts.FORM_SUMMARY)
    if not form:
        await env.approve("submit form", detail or f"via {located.element.describe()}", risky=True)
        return
    fields = ", ".join(form["fields"]) or "no fields"
    shown = env.driver.secrets.redact(f"{form['method']} {form['action']} with {fields}")
    await env.approve("submit form", shown, risky=True)
    env.driver.guard.form_approved(str(form["method"]), str(form["action"]))


async def click(env: ActionEnv, args: ElementArgs) -> str:
    located = await _prepare(env, args.id)
    cover = await located.locator.evaluate(page_scripts.HIT_TEST)
    if cover:
        raise ActionError(
            f"{located.element.describe()} was not clicked: it is covered by "
            f"{cover['element']} ({cover['text']!r}). Close or answer that first."
        )
    if SUBMITS in located.element.states:
        await _approve_submit(env, located)
    env.driver.tab.history.mark_action()
    if NEW_TAB in located.element.states:  # wait for the tab, so it is followed at once
        try:
            async with env.driver.browser.context.expect_page(
                timeout=env.driver.settings.action_timeout * 1000
            ):
                await located.locator.click()
        except PlaywrightTimeout:
            env.notes.append("the link was to open a new tab, but none appeared")
    else:
        await located.locator.click()
    return f"clicked {located.element.describe()}"


async def type_text(env: ActionEnv, args: TypeArgs) -> str:
    located = await _prepare(env, args.id)
    secret = args.secret or bool(await located.locator.evaluate(page_scripts.IS_PASSWORD))
    if secret:  # remembered before typing: nothing recorded from here on may show it
        env.driver.secrets.add(args.text)
    if args.append:
        await located.locator.press_sequentially(args.text)
    else:
        await located.locator.fill(args.text)
    shown = f"a secret ({len(args.text)} characters)" if secret else repr(args.text)
    done = f"typed {shown} into {located.element.describe()}"
    if args.submit:
        await _approve_submit(env, located)
        env.driver.tab.history.mark_action()
        await located.locator.press("Enter")
        done += " and pressed Enter"
    return done


async def select_option(env: ActionEnv, args: SelectArgs) -> str:
    located = await _prepare(env, args.id)
    options: list[str] | None = await located.locator.evaluate(page_scripts.SELECT_OPTIONS)
    if options is None:
        raise ActionError(
            f"{located.element.describe()} is not a <select>; click it, then click the option"
        )
    wanted = args.option.strip().lower()
    label = next((o for o in options if o.lower() == wanted), None)
    try:
        if label is not None:
            await located.locator.select_option(label=label)
        else:
            await located.locator.select_option(value=args.option)
    except PlaywrightError:
        raise ActionError(
            f"{located.element.describe()} has no option {args.option!r}; "
            f"its options are: {', '.join(map(repr, options))}"
        ) from None
    return f"selected {label or args.option!r} in {located.element.describe()}"


async def hover(env: ActionEnv, args: ElementArgs) -> str:
    located = await _prepare(env, args.id)
    await located.locator.hover()
    return f"the mouse is over {located.element.describe()}"


async def press_key(env: ActionEnv, args: KeyArgs) -> str:
    page = env.driver.tab.page
    if args.key.lower() in ("enter", "numpadenter") and await page.evaluate(
        page_scripts.FOCUS_IN_FORM
    ):
        await env.approve("submit form", "press Enter in a form field", risky=True)
        form = await page.evaluate(f"() => ({page_scripts.FORM_SUMMARY})(document.activeElement)")
        if form:
            env.driver.guard.form_approved(str(form["method"]), str(form["action"]))
    env.driver.tab.history.mark_action()
    try:
        await page.keyboard.press(args.key)
    except PlaywrightError as exc:
        raise ActionError(f"cannot press {args.key!r}: {str(exc).splitlines()[0]}") from None
    return f"pressed {args.key}"


async def upload_file(env: ActionEnv, args: UploadArgs) -> str:
    workspace = env.context.workspace.resolve()
    path = (workspace / args.path).resolve()
    if not path.is_relative_to(workspace):
        raise ActionError(
            f"{args.path} is outside the workspace; only workspace files can be uploaded"
        )
    if not path.is_file():
        raise ActionError(f"{args.path} does not exist in the workspace")
    located = await _prepare(env, args.id)
    await env.approve("upload file", f"{path} via {located.element.describe()}", risky=True)
    await located.locator.set_input_files(path)
    return f"attached {path.name} to {located.element.describe()}"


async def download(env: ActionEnv, args: DownloadArgs) -> str:
    url = args.url
    if args.id is not None:
        located = await _prepare(env, args.id)
        url = await located.locator.evaluate(page_scripts.LINK_URL)
        if not url:
            raise ActionError(f"{located.element.describe()} does not point at a file")
    assert url is not None
    return await env.intake.fetch_url(url)
