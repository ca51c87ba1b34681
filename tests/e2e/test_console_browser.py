"""The console in a real browser: Debian's chromium, headless, driven by Playwright, against `zizhu serve` with
the demo county. Every main page is saved as a screenshot under test-output/screenshots/ for a person to look at.

No browser is ever downloaded: the tests use /usr/bin/chromium and are skipped (saying so) without it.
CI installs it (.ci/run).
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from service.identity import make_id_number
from tests.e2e.conftest import free_port, installation_env, remove_installation, start_server, stop_server

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]

playwright_api = pytest.importorskip("playwright.async_api", reason="playwright is not installed (test extras)")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="no /usr/bin/chromium here (apt-get install chromium; .ci/run installs it)"
)

STUDENT_ID = make_id_number("150430", date(1999, 12, 31), 555)  # not one of the demo's (born 2003-2008)
PARENT_ID = make_id_number("150430", date(1970, 1, 1), 556)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`zizhu serve` with the demo county, for the whole module."""
    env = installation_env(tmp_path_factory.mktemp("console") / "var")
    port = free_port()
    proc = start_server(env, port, "--demo", wait=180)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_server(proc)
        remove_installation(env)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    async with playwright_api.async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


# What the browser refused under the pages' Content-Security-Policy (service.headers): any is a failure, since a
# refused style or script is a console that looks or works wrong for its users.
CSP_VIOLATIONS: list[str] = []
REPORT_VIOLATIONS = """document.addEventListener("securitypolicyviolation", (e) =>
    console.error(`Content Security Policy violation: ${e.violatedDirective} ${e.blockedURI} on ${location.pathname}`));"""


@pytest.fixture(autouse=True)
def no_csp_violations() -> Iterator[None]:
    CSP_VIOLATIONS.clear()
    yield
    assert CSP_VIOLATIONS == [], CSP_VIOLATIONS


async def new_page(browser: Any, site: str, **options: Any) -> Any:
    """A fresh browser context (its own cookies) and a page in it that records every CSP violation."""
    context = await browser.new_context(base_url=site, **options)
    await context.add_init_script(REPORT_VIOLATIONS)
    page = await context.new_page()

    def watch(message: Any) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            CSP_VIOLATIONS.append(message.text)

    page.on("console", watch)
    return page


async def signed_in(browser: Any, site: str, username: str) -> Any:
    """A fresh browser context (its own cookies) signed in through the landing page's form."""
    page = await new_page(browser, site, locale="zh-CN", accept_downloads=True)
    await page.goto("/")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", "zizhu-demo")
    await page.click("form[action='/login'] button")
    await page.wait_for_load_state()
    return page


async def shot(page: Any, name: str) -> None:
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


async def shots_of(page: Any, pages: tuple[tuple[str, str], ...]) -> None:
    """Open each page (it must answer 200) and save its screenshot."""
    for path, name in pages:
        response = await page.goto(path)
        assert response.status == 200, path
        await shot(page, name)


async def test_loan_year_in_the_browser(browser, site, tmp_path):
    """An officer registers a student and takes the application, a reviewer approves, the officer signs and
    prints the 受理证明 (a PDF download), and the university confirms its 回执."""
    landing = await new_page(browser, site)
    response = await landing.goto("/")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "zizhu-demo" in await landing.content() and await landing.locator("a[href='/schema']").count()
    await shot(landing, "01-landing")

    officer = await signed_in(browser, site, "officer")
    assert officer.url.endswith("/console")
    assert await officer.locator("svg.chart rect").count() > 0  # the dashboard's chart, drawn on the server
    await shot(officer, "02-dashboard")
    await officer.click("text=学生")
    await shot(officer, "03-students")
    await officer.click("text=登记学生")
    for field, value in (
        ("name", "韩梅梅"),
        ("id_number", STUDENT_ID),
        ("phone", "13955550000"),
        ("enrolled_on", "2026-09-01"),
        ("expected_graduation", "2030-06-30"),
    ):
        await officer.fill(f"input[name={field}]", value)
    await officer.select_option("select[name=university_code]", "10126")
    await officer.select_option("select[name=level]", "undergraduate")
    await officer.check("input[value=registered_poor]")
    await shot(officer, "04-student-new")
    await officer.click("form[action='/console/students'] button[type=submit]")
    await officer.wait_for_selector("text=已保存")
    assert "韩梅梅" in await officer.locator("h1").inner_text()
    await officer.fill("input[name=academic_year]", "2026")
    await officer.fill("input[name=amount]", "12000")
    await officer.fill("input[name=co_name]", "韩建国")
    await officer.fill("input[name=co_id_number]", PARENT_ID)
    await officer.fill("input[name=co_phone]", "13955551111")
    await shot(officer, "05-student")
    await officer.click("form[action$='/applications'] button")
    await officer.wait_for_selector("text=已保存")
    application = officer.url.split("?")[0]
    assert "/console/applications/" in application and "已受理" in await officer.locator("h1").inner_text()

    reviewer = await signed_in(browser, site, "reviewer")
    await reviewer.click("text=审批队列")
    await shot(reviewer, "06-approval-queue")
    await reviewer.goto(application)
    await shot(reviewer, "07-application")
    await reviewer.click("text=审批通过")
    await reviewer.wait_for_selector("text=已保存")
    assert "已审批" in await reviewer.locator("h1").inner_text()

    await officer.goto(application)
    await officer.click("text=签订合同")
    await officer.wait_for_selector("text=打印受理证明")
    contract_no = (await officer.locator("h1").inner_text()).split()[1]
    await shot(officer, "08-contract")
    async with officer.expect_download() as download_info:
        await officer.click("text=打印受理证明")
    download = await download_info.value
    pdf = tmp_path / "certificate.pdf"
    await download.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF") and download.suggested_filename == f"{contract_no}.pdf"
    shutil.copy(pdf, SCREENSHOTS / "08-certificate.pdf")

    school = await signed_in(browser, site, "school")
    assert school.url.endswith("/console/school/receipts")
    await school.fill(f"form[action='/console/school/receipts/{contract_no}'] input[name=amount]", "5500.00")
    await shot(school, "09-school-receipts")
    await school.click(f"form[action='/console/school/receipts/{contract_no}'] button")
    await school.wait_for_selector("text=已保存")
    assert contract_no not in await school.content()
    await officer.goto(f"/console/contracts/{contract_no}")
    assert "高校已回执" in await officer.locator("h1").inner_text()


async def test_graduate_changes_the_phone_number(browser, site):
    graduate = await signed_in(browser, site, "graduate")
    assert graduate.url.endswith("/console/me")
    await shot(graduate, "10-graduate-portal")
    await graduate.fill("form[action='/console/me/contact'] input[name=phone]", "13600001234")
    await graduate.fill("form[action='/console/me/contact'] input[name=address]", "内蒙古呼和浩特市赛罕区")
    await graduate.click("form[action='/console/me/contact'] button")
    await graduate.wait_for_selector("text=联系方式已更新")
    assert "136****1234" in await graduate.content()
    await graduate.fill("form[action='/console/me/contact'] input[name=phone]", "12345")  # not a mobile number
    await graduate.click("form[action='/console/me/contact'] button")
    assert await graduate.locator("[role=alert]").count() == 1


async def test_the_other_main_pages_and_the_language_switch(browser, site):
    officer = await signed_in(browser, site, "officer")
    await shots_of(
        officer,
        (
            ("/console/applications", "11-applications"),
            ("/console/contracts", "12-contracts"),
            ("/console/import", "13-import"),
            ("/console/reports", "14-reports"),
        ),
    )
    await officer.click("text=English")
    assert "Reports" in await officer.locator("h1").inner_text()
    await officer.goto("/console/audit")  # not for officers: the 403 page, in the language chosen
    assert "Not allowed" in await officer.locator("h1").inner_text()
    await shot(officer, "15-forbidden")
    auditor = await signed_in(browser, site, "auditor")
    await auditor.goto("/console/audit")
    assert await auditor.locator("table tr").count() > 1
    await shot(auditor, "16-audit-log")
    school = await signed_in(browser, site, "school")
    await school.goto("/console/graduations")
    await shot(school, "17-graduations")


async def test_donor_downloads_the_allocation_report(browser, site, tmp_path):
    donor = await signed_in(browser, site, "donor")
    assert donor.url.endswith("/console/donor")
    assert await donor.locator("a[href^='/console/receipts/JZ-']").count() > 0  # its receipts, to download
    await shot(donor, "18-donor-portal")
    async with donor.expect_download() as download_info:
        await donor.click("#allocation-pdf")
    download = await download_info.value
    pdf = tmp_path / "allocation.pdf"
    await download.save_as(pdf)
    content = pdf.read_bytes()
    assert content.startswith(b"%PDF") and len(content) > 1000
    shutil.copy(pdf, SCREENSHOTS / "18-allocation-report.pdf")
    response = await donor.goto("/console/donors/2")  # another donor's report
    assert response.status == 403


async def test_officer_records_a_donation_and_sees_its_receipt_number(browser, site):
    officer = await signed_in(browser, site, "officer")
    await officer.goto("/console/donations")
    await officer.fill("form[action='/console/donations'] input[name=amount]", "6800.00")
    await officer.fill("form[action='/console/donations'] input[name=reference]", "E2E20260001")
    await shot(officer, "19-donations")
    await officer.click("form[action='/console/donations'] button")
    await officer.wait_for_selector("text=捐赠已登记")
    receipt_no = await officer.locator("#receipt-no").inner_text()
    assert receipt_no.startswith("JZ-") and receipt_no in officer.url
    await shot(officer, "20-receipt")
    await shots_of(
        officer,
        (
            ("/console/programs", "21-programs"),
            ("/console/awards", "22-awards"),
            ("/console/receipts", "23-receipts"),
            ("/console/reports", "24-reports"),
        ),
    )
    await officer.goto("/console/programs")
    await officer.click("table a[href^='/console/programs/']")
    await shot(officer, "25-programme")
    notice = officer.locator("a[href^='/console/notices/']").first
    if await notice.count():
        await notice.click()
        await shot(officer, "26-notice")
    reviewer = await signed_in(browser, site, "reviewer")
    await reviewer.click("text=资助审核")
    await shot(reviewer, "27-grant-queue")
