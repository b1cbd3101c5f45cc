"""README.md and docs/: the results table comes from results/results.json,
links lead somewhere, and nothing points outside the repository."""
import json
import re

import pytest

from helpers import REPO

PAGES = [REPO / "README.md"] + sorted((REPO / "docs").glob("*.md")) + [
    REPO / "results" / "device" / "README.md"]


def test_readme_table_is_the_one_reproduce_writes():
    import report
    results = json.loads((REPO / "results" / "results.json").read_text())
    start, end = report.README_TABLE
    shown = (REPO / "README.md").read_text().split(start)[1].split(end)[0]
    assert shown == "\n" + report.readme_table(results)


def test_update_readme_rewrites_only_the_table(tmp_path):
    import report
    start, end = report.README_TABLE
    readme = tmp_path / "README.md"
    readme.write_text("# Title\n\n%s\nold table\n%s\n\nthe rest\n" % (start, end))
    results = json.loads((REPO / "results" / "results.json").read_text())
    results["rows"] = [r for r in results["rows"] if r["run"] == "mlp"]
    report.update_readme(results, str(readme))
    text = readme.read_text()
    assert text.startswith("# Title\n\n%s\n| run |" % start)
    assert text.endswith("%s\n\nthe rest\n" % end)
    assert "old table" not in text and "| mlp | gpu |" in text and "| cnn |" not in text
    # the speed-up line of the rows kept, whatever their figures
    assert re.search(r"^- mlp: GPU [0-9.]+ s/epoch vs CPU [0-9.]+ s/epoch", text, re.M), text


def test_readme_is_a_short_page():
    # a page read in a few minutes; the long explanations are in docs/
    assert len((REPO / "README.md").read_text()) <= 9500


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_links_lead_to_files_of_the_repository(page):
    text = page.read_text()
    assert "../shared" not in text and "/work/" not in text
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
        if not target.startswith("http"):
            assert (page.parent / target).exists(), target
