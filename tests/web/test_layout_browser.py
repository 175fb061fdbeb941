"""Wide tables and the navigation at a laptop's 1366 x 768, measured in headless Chromium over the demo data (the
seed papers' register: 69 proposals, every impact area): a wide table scrolls inside its card instead of
overflowing it, no column is squeezed to a character or two, and the main navigation stays on one line."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from gbsmart.config import Settings
from gbsmart.core.context import Actor, Ctx
from gbsmart.core.db import Base, make_engine, make_sessionmaker
from gbsmart.demo.loader import load_demo
from gbsmart.models.parties import Organisation
from tests.conftest import TEST_PASSWORD, World
from tests.web.test_portal_browser import add_person

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1366, "height": 768}
MIN_CHARACTERS = 4

#: for a table: its card, the box that scrolls it, and the narrowest cell's content width in characters
MEASURE_TABLE = """table => {
  const card = table.closest('.card');
  let scroller = table.parentElement;
  while (scroller && scroller !== card && getComputedStyle(scroller).overflowX === 'visible') {
    scroller = scroller.parentElement;
  }
  const probe = document.createElement('span');
  probe.textContent = '0000000000';
  table.querySelector('tbody td').appendChild(probe);
  const ch = probe.getBoundingClientRect().width / 10;
  probe.remove();
  let narrowest = Infinity, where = '';
  for (const cell of table.querySelectorAll('th, td')) {
    if (cell.colSpan > 1 || !cell.textContent.trim()) continue;
    const style = getComputedStyle(cell);
    const inner = cell.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    if (inner < narrowest) { narrowest = inner; where = cell.textContent.trim().slice(0, 40); }
  }
  const c = card.getBoundingClientRect(), s = scroller.getBoundingClientRect();
  return {
    cardLeft: c.left, cardRight: c.right, scrollerLeft: s.left, scrollerRight: s.right,
    scrollerIsCard: scroller === card, scrolls: getComputedStyle(scroller).overflowX,
    tableWidth: table.scrollWidth, scrollerWidth: scroller.clientWidth, scrollerScrollWidth: scroller.scrollWidth,
    pageScrollWidth: document.documentElement.scrollWidth, viewport: window.innerWidth,
    narrowestCharacters: narrowest / ch, narrowestCell: where,
  };
}"""

MEASURE_NAV = """nav => {
  const links = [...nav.querySelectorAll('a')];
  const tops = new Set(links.map(a => Math.round(a.getBoundingClientRect().top)));
  const line = parseFloat(getComputedStyle(links[0]).lineHeight) || links[0].getBoundingClientRect().height;
  return {rows: tops.size, height: nav.getBoundingClientRect().height, line: line, links: links.length};
}"""


@pytest.fixture
def demo_site(tmp_path, clock, live_server, new_page) -> Page:
    db_url = f"sqlite:///{tmp_path / 'demo.db'}"
    settings = Settings(data_dir=tmp_path / "var", database_url=db_url, secret_key="test-secret-key-not-for-production")
    engine = make_engine(db_url)
    Base.metadata.create_all(engine)
    session = make_sessionmaker(engine)()
    load_demo(Ctx(session=session, actor=Actor.system("demo"), clock=clock, settings=settings))
    session.commit()
    secas = session.scalar(select(Organisation).where(Organisation.name == "SECAS"))
    viewer = add_person(World(session, clock), "viewer", "code_administrator", org=secas)
    viewer.full_name = "Alexandra Montgomery-Smythe"  # a long name in the top bar, as real ones are
    session.commit()
    session.close()
    url = live_server(settings, clock=clock)
    page = new_page(viewport=LAPTOP)
    page.goto(f"{url}/login?next=/register")
    page.get_by_label("Username").fill("viewer")
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Modification Register")).to_be_visible()
    page.base_url = url  # type: ignore[attr-defined]
    yield page
    engine.dispose()


def _assert_fits(m: dict, what: str) -> None:
    assert m["pageScrollWidth"] <= m["viewport"], f"{what}: the page scrolls sideways ({m})"
    assert not m["scrollerIsCard"], f"{what}: the card itself scrolls; the table needs its own scroll box ({m})"
    assert m["scrolls"] in ("auto", "scroll"), m
    assert m["cardLeft"] <= m["scrollerLeft"] and m["scrollerRight"] <= m["cardRight"] + 0.5, \
        f"{what}: the table's scroll box sticks out of its card ({m})"
    assert m["tableWidth"] <= m["scrollerScrollWidth"] + 1, m
    assert m["narrowestCharacters"] >= MIN_CHARACTERS, \
        f"{what}: a column is {m['narrowestCharacters']:.1f} characters wide ({m['narrowestCell']!r})"


def test_wide_tables_scroll_inside_their_card_and_the_navigation_is_one_line(demo_site: Page) -> None:
    page = demo_site
    expect(page.locator("#register-table tbody tr")).to_have_count(69)
    register = page.locator("#register-table").evaluate(MEASURE_TABLE)
    _assert_fits(register, "the Register")
    assert register["tableWidth"] > register["scrollerWidth"], "the Register is wide: it scrolls, not squeezes"

    page.goto(page.base_url + "/impact-matrix")  # type: ignore[attr-defined]
    matrix = page.locator("#impact-matrix").evaluate(MEASURE_TABLE)
    _assert_fits(matrix, "the impact matrix")


    for path in ("/register", "/proposals", "/change-board", "/impact-matrix"):
        page.goto(page.base_url + path)  # type: ignore[attr-defined]
        nav = page.get_by_role("navigation", name="Main").evaluate(MEASURE_NAV)
        assert nav["links"] >= 11
        assert nav["rows"] == 1 and nav["height"] < 2 * nav["line"], f"{path}: the navigation wraps at 1366 px: {nav}"
