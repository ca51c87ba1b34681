"""Console lists count every record and page through all of them: a list built on one entity (programmes) used to
count with its FROM dropped and said "共 1 条" with no next page."""

from __future__ import annotations

import re

from tests.integration.console_fixtures import console_as
from tests.integration.donation_fixtures import grant_world


async def test_programmes_list_counts_and_pages_all_of_them(client, make_user):
    await grant_world(client, make_user)
    async with console_as(client, "officer-g") as officer:
        first = (await officer.client.get("/console/programs")).text
        existing = int(re.search(r"共 (\d+) 条", first).group(1))
        for n in range(60):
            r = await officer.post(
                "/console/programs",
                {
                    "name": f"项目{n:02d}",
                    "funding": "social",
                    "pooling": "fifo",
                    "rule_type": "fixed",
                    "rule_amount": "1000",
                    "notice_days": "7",
                    "quota": "5",
                },
            )
            assert r.status_code == 303, r.text
        page1 = (await officer.client.get("/console/programs")).text
        assert f"共 {existing + 60} 条" in page1
        assert "offset=50" in page1  # a next page
        page2 = (await officer.client.get("/console/programs?offset=50")).text
        shown = set(re.findall(r"项目\d\d", page1)) | set(re.findall(r"项目\d\d", page2))
        assert len(shown) == 60
